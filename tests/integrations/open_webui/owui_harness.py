"""Open WebUI's side of the tests: its loader and filter call, a stand-in retrieval API, our real server."""

from __future__ import annotations

import inspect
import os
import re
import sys
import tempfile
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from tests.live_server import free_port as free_port  # re-exported: the filter tests import it from here
from tests.live_server import in_thread, serve

REPO = Path(__file__).resolve().parents[3]
FUNCTION_FILE = REPO / "integrations" / "open_webui" / "embedrank_reranker.py"
FUNCTION_JSON = REPO / "integrations" / "open_webui" / "embedrank_reranker.json"
USER_TOKEN = "owui-user-token"

_FRONTMATTER_LINE = re.compile(r"^\s*([a-z_]+):\s*(.*)\s*$", re.IGNORECASE)


def open_webui_frontmatter(content: str) -> dict[str, str]:
    """Open WebUI's extract_frontmatter rules (utils/plugin.py), restated independently for the test."""
    lines = content.splitlines()
    if not lines or lines[0].strip() != '"""':
        return {}
    found: dict[str, str] = {}
    for line in lines[1:]:
        if '"""' in line:
            break
        match = _FRONTMATTER_LINE.match(line)
        if match:
            key, value = match.groups()
            found[key.strip()] = value.strip()
    return found


def load_like_open_webui(content: str, function_id: str) -> tuple[Any, str, dict[str, str]]:
    """load_function_module_by_id: exec into a fresh module with a temp __file__; Pipe > Filter > Action."""
    module_name = f"function_{function_id}"
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as handle:
        handle.write(content)
    try:
        module.__dict__["__file__"] = handle.name
        exec(content, module.__dict__)
    finally:
        os.unlink(handle.name)
    for kind in ("Pipe", "Filter", "Action"):
        if hasattr(module, kind):
            return getattr(module, kind)(), kind.lower(), open_webui_frontmatter(content)
    raise AssertionError("no Pipe, Filter or Action class in the module")


async def run_inlet(instance: Any, body: dict[str, Any], extra: dict[str, Any], valves: dict[str, Any]) -> Any:
    """process_filter_functions for one inlet: valves, signature-picked params, file_handler cleanup."""
    skip_files = getattr(instance, "file_handler", None) if hasattr(instance, "file_handler") else None
    if hasattr(instance, "valves") and hasattr(instance, "Valves"):
        instance.valves = instance.Valves(**valves)
    handler = instance.inlet
    sig = inspect.signature(handler)
    params = {"body": body} | {
        k: v for k, v in {**extra, "__id__": "embedrank_reranker"}.items() if k in sig.parameters
    }
    result = await handler(**params) if inspect.iscoroutinefunction(handler) else handler(**params)
    if skip_files:
        result.get("metadata", {}).pop("files", None)
        result.pop("files", None)
    return result


class QueryDocForm(BaseModel):
    """Open WebUI 0.12.4's request model for POST /api/v1/retrieval/query/doc."""

    collection_name: str
    query: str
    k: int | None = None
    k_reranker: int | None = None
    r: float | None = None
    hybrid: bool | None = None
    hybrid_bm25_weight: float | None = None


@dataclass
class StandIn:
    """A real HTTP server answering Open WebUI's collection query from a fixed corpus."""

    corpus: dict[str, list[tuple[str, dict[str, Any], float]]]
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/retrieval/query/doc")
        async def query_doc(form: QueryDocForm, authorization: str | None = Header(None)) -> dict[str, list[list[Any]]]:
            self.requests.append({"form": form.model_dump(), "authorization": authorization})
            if authorization != f"Bearer {USER_TOKEN}":
                raise HTTPException(status_code=401, detail="Not authenticated")
            hits = list(self.corpus.get(form.collection_name, []))
            # Like query_doc: best (highest) score first, cut at k.
            hits = sorted(hits, key=lambda hit: hit[2], reverse=True)[: form.k or 4]
            return {
                "distances": [[h[2] for h in hits]],
                "documents": [[h[0] for h in hits]],
                "metadatas": [[h[1] for h in hits]],
            }

        return app


@contextmanager
def serve_stand_in(stand_in: StandIn) -> Iterator[StandIn]:
    with in_thread(stand_in.app(), what="stand-in Open WebUI") as url:
        stand_in.url = url
        yield stand_in


@contextmanager
def embedrank_server(env: dict[str, str] | None = None, timeout_s: float = 180.0) -> Iterator[str]:
    """Our real server (uvicorn service.app:app) in a subprocess on a free port, ready when /ready is 200."""
    argv = [sys.executable, "-m", "uvicorn", "service.app:app", "--host", "127.0.0.1", "--port", "{port}"]
    with serve(env, argv, timeout_s=timeout_s) as server:
        yield server.url
