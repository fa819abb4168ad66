"""The n8n workflow templates: structure, our routes, and validation by the real n8n-workflow library."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "n8n_templates").glob("*.json"))
NODE_DIR = Path(__file__).resolve().parent / "node"
EMBEDRANK = "http://embedrank:9000"  # the compose stack's address: the default when $env.EMBEDRANK_URL is unset
# The rerank nodes' URL: $env.EMBEDRANK_URL, or the default when unset or when n8n blocks env access.
RERANK_URL = (
    "={{ (() => { try { return $env.EMBEDRANK_URL || 'http://embedrank:9000' } "
    "catch (error) { return 'http://embedrank:9000' } })() }}/v1/rerank"
)
LC = "@n8n/n8n-nodes-langchain."
# Node types and the typeVersions we pin (all valid in n8n 2.8; the Node check proves it).
ALLOWED = {
    "n8n-nodes-base.manualTrigger": {1},
    "n8n-nodes-base.code": {2},
    "n8n-nodes-base.webhook": {2},
    "n8n-nodes-base.respondToWebhook": {1.1},
    "n8n-nodes-base.httpRequest": {4.2},
    "n8n-nodes-base.executeWorkflowTrigger": {1.1},
    "n8n-nodes-base.stickyNote": {1},
    LC + "embeddingsOpenAi": {1.2},
    LC + "vectorStoreQdrant": {1.3},
    LC + "documentDefaultDataLoader": {1.1},
    LC + "textSplitterRecursiveCharacterTextSplitter": {1},
    LC + "chatTrigger": {1.1},
    LC + "agent": {2.2},
    LC + "lmChatOpenAi": {1.2},
    LC + "memoryBufferWindow": {1.3},
    LC + "toolWorkflow": {2.2},
}
CONNECTION_TYPES = {
    "main",
    "ai_embedding",
    "ai_document",
    "ai_textSplitter",
    "ai_languageModel",
    "ai_memory",
    "ai_tool",
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def by_type(workflow: dict[str, Any], node_type: str) -> list[dict[str, Any]]:
    return [n for n in workflow["nodes"] if n["type"] == node_type]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_three_workflows_exist() -> None:
    names = {p.name for p in TEMPLATES}
    assert {"embedrank_ingest.json", "embedrank_rag_query_api.json", "embedrank_chat_agent.json"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_structure(path: Path) -> None:
    workflow = load(path)
    assert workflow["name"] and workflow["settings"]["executionOrder"] == "v1"
    nodes = workflow["nodes"]
    ids = [n["id"] for n in nodes]
    names = [n["name"] for n in nodes]
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)
    for node in nodes:
        uuid.UUID(node["id"])
        assert node["typeVersion"] in ALLOWED.get(node["type"], set()), (node["name"], node["type"])
        assert isinstance(node["parameters"], dict)
        assert len(node["position"]) == 2
        for cred_type, cred in node.get("credentials", {}).items():
            # Placeholders only: the user picks a real credential after import.
            assert cred["id"].startswith("REPLACE_") and cred["name"], (node["name"], cred_type)
    for source, outputs in workflow["connections"].items():
        assert source in names, source
        for conn_type, groups in outputs.items():
            assert conn_type in CONNECTION_TYPES
            for target in (t for group in groups for t in group):
                assert target["node"] in names and target["type"] == conn_type, (source, target)
    secrets = [s for s in strings(workflow) if re.search(r"\bsk-[A-Za-z0-9]{16,}|Bearer [A-Za-z0-9._-]{20,}", s)]
    assert not secrets


def test_ingest_embeds_through_our_v1_into_qdrant() -> None:
    workflow = load(REPO / "n8n_templates" / "embedrank_ingest.json")
    assert by_type(workflow, "n8n-nodes-base.manualTrigger")
    (store,) = by_type(workflow, LC + "vectorStoreQdrant")
    assert store["parameters"]["mode"] == "insert"
    (embeddings,) = by_type(workflow, LC + "embeddingsOpenAi")
    assert "openAiApi" in embeddings["credentials"]
    links = workflow["connections"]
    assert links[embeddings["name"]]["ai_embedding"][0][0]["node"] == store["name"]
    assert any("ai_document" in out for out in links.values())
    assert any("ai_textSplitter" in out for out in links.values())


def test_rag_api_reranks_qdrants_top_20() -> None:
    workflow = load(REPO / "n8n_templates" / "embedrank_rag_query_api.json")
    (hook,) = by_type(workflow, "n8n-nodes-base.webhook")
    assert hook["parameters"]["responseMode"] == "responseNode"
    (search,) = by_type(workflow, LC + "vectorStoreQdrant")
    assert search["parameters"]["mode"] == "load" and search["parameters"]["topK"] == 20
    (rerank,) = by_type(workflow, "n8n-nodes-base.httpRequest")
    assert rerank["parameters"]["url"] == RERANK_URL
    assert rerank["parameters"]["method"] == "POST" and "documents" in rerank["parameters"]["jsonBody"]
    assert by_type(workflow, "n8n-nodes-base.respondToWebhook")


def test_agent_tool_calls_this_workflows_rerank_branch() -> None:
    workflow = load(REPO / "n8n_templates" / "embedrank_chat_agent.json")
    (agent,) = by_type(workflow, LC + "agent")
    (tool,) = by_type(workflow, LC + "toolWorkflow")
    assert tool["parameters"]["workflowId"]["value"] == "={{ $workflow.id }}"
    assert workflow["connections"][tool["name"]]["ai_tool"][0][0]["node"] == agent["name"]
    assert by_type(workflow, "n8n-nodes-base.executeWorkflowTrigger")
    (rerank,) = by_type(workflow, "n8n-nodes-base.httpRequest")
    assert rerank["parameters"]["url"] == RERANK_URL


def referenced_endpoints() -> set[tuple[str, str]]:
    """(method, path) of each call a template makes to us: HTTP Request nodes and the OpenAI nodes."""
    calls: set[tuple[str, str]] = set()
    for path in TEMPLATES:
        workflow = load(path)
        for node in by_type(workflow, "n8n-nodes-base.httpRequest"):
            url = node["parameters"]["url"]
            if url.startswith("={{") and f"'{EMBEDRANK}'" in url:
                calls.add((node["parameters"].get("method", "GET"), url.rsplit("}}", 1)[1]))
        if by_type(workflow, LC + "embeddingsOpenAi"):
            # The node posts to {base}/embeddings; n8n tests the credential with GET {base}/models.
            calls.update({("POST", "/v1/embeddings"), ("GET", "/v1/models")})
    mentioned = set(re.findall(re.escape(EMBEDRANK) + r"(/[\w/.-]*\w)", json.dumps(load_all())))
    assert mentioned <= {p for _, p in calls} | {"/v1"}, mentioned
    return calls


def load_all() -> list[dict[str, Any]]:
    return [load(p) for p in TEMPLATES]


def test_every_endpoint_we_call_is_served_by_the_app() -> None:
    from starlette.routing import Match

    from service.app import create_app
    from service.config import Settings

    app = create_app(Settings(ui_enabled=False))  # the Gradio console is not an API route

    def served(method: str, path: str) -> bool:
        # Starlette's own matching, so it holds however FastAPI nests included routers.
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)

    wanted = referenced_endpoints()
    assert ("POST", "/v1/rerank") in wanted
    missing = sorted(f"{method} {path}" for method, path in wanted if not served(method, path))
    assert not missing, f"n8n templates call endpoints service.app does not serve: {missing}"


def node_check_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "n8n-workflow" / "package.json").exists():
        return "n8n-workflow is not installed: run tests/n8n_templates/node/install.sh"
    if not (NODE_DIR / "node_modules" / ".n8n-node-types" / "n8n-nodes-base" / "nodes.json").exists():
        return "n8n node types are not installed: run tests/n8n_templates/node/install.sh"
    return None


def run_validator(files: list[Path]) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        ["node", str(NODE_DIR / "validate.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


@pytest.mark.skipif(node_check_ready() is not None, reason=str(node_check_ready()))
def test_real_n8n_workflow_library_accepts_every_template() -> None:
    code, report = run_validator(TEMPLATES)
    assert report["n8n_workflow"].startswith("2.8.")
    assert {r["file"]: r["errors"] for r in report["results"]} == {p.name: [] for p in TEMPLATES}
    assert code == 0


@pytest.mark.skipif(node_check_ready() is not None, reason=str(node_check_ready()))
def test_real_n8n_workflow_library_rejects_a_broken_template(tmp_path: Path) -> None:
    workflow = load(REPO / "n8n_templates" / "embedrank_rag_query_api.json")
    (rerank,) = by_type(workflow, "n8n-nodes-base.httpRequest")
    rerank["parameters"]["jsonBdy"] = rerank["parameters"].pop("jsonBody")
    del workflow["connections"]["embedrank Embeddings"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(workflow), encoding="utf-8")
    code, report = run_validator([broken])
    errors = report["results"][0]["errors"]
    assert code == 1
    assert any("jsonBdy" in e for e in errors)
    assert any("required input ai_embedding is not connected" in e for e in errors)
