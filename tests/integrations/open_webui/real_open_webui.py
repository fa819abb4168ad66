"""Run a real Open WebUI process on 127.0.0.1 and drive it over its own HTTP API (0.12.4 routes)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.live_server import running

EMBEDRANK_KEY = "owui-test-key"  # our server's API_KEY in these tests


class OpenWebUI:
    """A client of one Open WebUI: signed in as its admin (WEBUI_AUTH=False gives an empty-credential admin)."""

    def __init__(self, url: str) -> None:
        self.url = url
        token = httpx.post(f"{url}/api/v1/auths/signin", json={"email": "", "password": ""}, timeout=30)
        token.raise_for_status()
        self.client = httpx.Client(
            base_url=url, timeout=120, headers={"Authorization": f"Bearer {token.json()['token']}"}
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:2000]}"
        return response.json()

    def upload(self, name: str, text: str) -> str:
        """POST /api/v1/files/ (multipart); processed in the request, so it is embedded when this returns."""
        params = {"process_in_background": "false"}
        file = self.call("POST", "/api/v1/files/", files={"file": (name, text.encode(), "text/plain")}, params=params)
        status = self.call("GET", f"/api/v1/files/{file['id']}/process/status")
        assert status["status"] == "completed", status
        return str(file["id"])

    def query_doc(self, file_id: str, query: str, **form: Any) -> list[tuple[str, float]]:
        """(text, score) pairs, best first, as Open WebUI's retrieval answers for one file's collection."""
        data = self.call(
            "POST", "/api/v1/retrieval/query/doc", json={"collection_name": f"file-{file_id}", "query": query, **form}
        )
        return list(zip(data["documents"][0], data["distances"][0], strict=True))

    def install_function(self, exported: dict[str, Any]) -> str:
        """Import a function as Admin → Functions → Import does, switch it on and make it global."""
        fields = {key: exported[key] for key in ("id", "name", "content", "meta")}
        created = self.call("POST", "/api/v1/functions/create", json=fields)
        fid = str(created["id"])
        assert self.call("POST", f"/api/v1/functions/id/{fid}/toggle")["is_active"] is True
        assert self.call("POST", f"/api/v1/functions/id/{fid}/toggle/global")["is_global"] is True
        return fid

    def set_valves(self, function_id: str, valves: dict[str, Any]) -> None:
        saved = self.call("POST", f"/api/v1/functions/id/{function_id}/valves/update", json=valves)
        assert all(saved[key] == value for key, value in valves.items()), saved

    def chat(self, model: str, question: str, file_ids: list[str]) -> dict[str, Any]:
        body = {
            "model": model,
            "stream": False,
            "messages": [{"role": "user", "content": question}],
            "files": [{"type": "file", "id": fid} for fid in file_ids],
        }
        answer: dict[str, Any] = self.call("POST", "/api/chat/completions", json=body)
        return answer


@contextmanager
def serve_open_webui(
    binary: Path, port: int, data_dir: Path, env: Mapping[str, str], timeout_s: float = 300.0
) -> Iterator[str]:
    """Start `open-webui serve` offline with its data in `data_dir`; yield its URL once /health answers."""
    full_env = {
        **os.environ,
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "WEBUI_AUTH": "False",
        "DATA_DIR": str(data_dir),
        "ENABLE_OLLAMA_API": "false",
        "ENABLE_VERSION_UPDATE_CHECK": "false",
        "ANONYMIZED_TELEMETRY": "false",
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "true",
        **env,
    }
    command = [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = data_dir / "open-webui.log"
    with running(command, full_env, port=port, cwd=data_dir, ready_path="/health", timeout_s=timeout_s, log_path=log):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Stack:
    embedrank: str  # our server's base URL
    owui: OpenWebUI
    received: list[dict[str, Any]]  # chat bodies Open WebUI sent the model
