"""compose.yaml, the n8n templates, the Open WebUI filter and the READMEs tell one story about addresses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((REPO / "n8n_templates").glob("*.json"))
CREDENTIALS = REPO / "n8n_templates" / "credentials" / "embedrank_credentials.json"
# `$env.NAME || 'default'`, as the templates and the credentials file write it.
ENV_DEFAULT = re.compile(r"\$env\.([A-Z_][A-Z0-9_]*) \|\| '([^']*)'")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    return data


def env_of(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose()["services"][service]["environment"].items()}


def n8n_env_defaults() -> dict[str, set[str]]:
    """Each $env variable the shipped n8n files read, with the default(s) they fall back to."""
    found: dict[str, set[str]] = {}
    for path in [*TEMPLATES, CREDENTIALS]:
        for name, default in ENV_DEFAULT.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(default)
    return found


def embedrank_in_compose() -> str:
    return f"http://embedrank:{env_of('embedrank')['PORT']}"


def test_n8n_templates_read_only_variables_compose_sets_and_default_to_its_values() -> None:
    n8n = env_of("n8n")
    used = n8n_env_defaults()
    assert {"EMBEDRANK_URL", "EMBEDRANK_OPENAI_BASE_URL", "EMBEDRANK_API_KEY", "QDRANT_URL"} <= used.keys()
    assert n8n["N8N_BLOCK_ENV_ACCESS_IN_NODE"] == "false"
    for name, defaults in used.items():
        assert name in n8n, f"n8n reads $env.{name}; compose.yaml does not set it"
        if not name.endswith("API_KEY"):  # keys come from .env; the URLs' defaults must be compose's own
            assert defaults == {n8n[name]}, (name, defaults, n8n[name])
    assert n8n["EMBEDRANK_URL"] == embedrank_in_compose()
    assert n8n["EMBEDRANK_OPENAI_BASE_URL"] == f"{embedrank_in_compose()}/v1"
    assert n8n["EMBEDRANK_API_KEY"] == "${API_KEY}"
    assert n8n["QDRANT_URL"] == env_of("open-webui")["QDRANT_URI"]


def test_no_template_hard_codes_an_address() -> None:
    for path in TEMPLATES:
        nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"]
        text = json.dumps([n["parameters"] for n in nodes if n["type"] != "n8n-nodes-base.stickyNote"])
        for url in re.findall(r"https?://[\w.-]+(?::\d+)?", text):
            # Only as a $env fallback (the compose address), never as the value a node would use as-is.
            assert f"|| '{url}" in text and f"return '{url}" in text, (path.name, url)


def test_credentials_file_matches_the_templates_placeholders() -> None:
    shipped = {c["id"]: c for c in json.loads(CREDENTIALS.read_text(encoding="utf-8"))}
    for path in TEMPLATES:
        for node in json.loads(path.read_text(encoding="utf-8"))["nodes"]:
            for kind, ref in node.get("credentials", {}).items():
                if ref["id"] == "REPLACE_chat_model":  # the LLM is the user's own
                    continue
                assert shipped[ref["id"]]["type"] == kind and shipped[ref["id"]]["name"] == ref["name"]


def test_open_webui_in_compose_and_the_filter_agree() -> None:
    owui = env_of("open-webui")
    base = embedrank_in_compose()
    assert owui["RAG_OPENAI_API_BASE_URL"] == f"{base}/v1"
    assert owui["RAG_EXTERNAL_RERANKER_URL"] == f"{base}/v1/rerank"
    assert owui["ENABLE_RAG_HYBRID_SEARCH"] == "true"  # reranking runs only in hybrid search
    assert owui["ENABLE_QDRANT_MULTITENANCY_MODE"] == "false"  # the knowledge-base section needs it
    source = (REPO / "integrations/open_webui/embedrank_reranker.py").read_text(encoding="utf-8")
    assert re.search(r'embedrank_url: str = Field\(\s*"' + re.escape(base) + '"', source)
    # openwebui_url: Open WebUI calling itself inside its container, on the port compose maps to.
    container_port = compose()["services"]["open-webui"]["ports"][0].rsplit(":", 1)[1]
    assert f'openwebui_url: str = Field("http://localhost:{container_port}"' in source


def test_readmes_explain_the_networking_and_the_defaults() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    owui = (REPO / "integrations/open_webui/README.md").read_text(encoding="utf-8")
    n8n = (REPO / "n8n_templates/README.md").read_text(encoding="utf-8")
    for needed in ("--host 0.0.0.0", "host-gateway", "http://host.docker.internal:9000", embedrank_in_compose()):
        assert needed in readme, needed
    assert f"| `embedrank_url` | `{embedrank_in_compose()}` |" in owui
    for name in ("EMBEDRANK_URL", "EMBEDRANK_OPENAI_BASE_URL", "EMBEDRANK_API_KEY", "QDRANT_URL"):
        assert f"`{name}`" in n8n, name
    assert "localhost:9000/v1/rerank" not in n8n  # nothing left to edit by hand in the nodes
