"""Real n8n 2.8.4: the templates and credentials import as shipped and run on our server and a Qdrant stand-in."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_standin import QdrantStandIn, cosine, serve_qdrant

from tests.live_server import free_port, live_server
from tests.real_apps import app_binary

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "n8n_templates").glob("*.json"))
CREDENTIALS = REPO / "n8n_templates" / "credentials" / "embedrank_credentials.json"
# Webhook, chat trigger and LLM nodes cannot run headless, so they are swapped for a manual trigger and a
# Code node of the same name emitting what the trigger would; every other node runs as shipped, URLs included:
# they come from n8n's environment, as in the compose stack.
QUERY = "How long does standard shipping take?"
KEY = "n8n-test-key"

pytestmark = pytest.mark.slow


def template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "n8n_templates" / name).read_text(encoding="utf-8"))
    return data


class N8n:
    def __init__(self, binary: Path, home: Path, env: dict[str, str]) -> None:
        self.binary = binary
        self.env = {
            **os.environ,
            **env,
            "N8N_USER_FOLDER": str(home),
            "N8N_ENCRYPTION_KEY": "embedrank-test-key",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
        }
        self.home = home

    def run(self, *args: str) -> str:
        result = subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"n8n {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def import_json(self, kind: str, data: Any, name: str) -> None:
        path = self.home / name
        path.write_text(json.dumps(data), encoding="utf-8")
        self.run(f"import:{kind}", f"--input={path}")

    def execute(self, workflow: dict[str, Any]) -> dict[str, Any]:
        self.import_json("workflow", workflow, f"{workflow['id']}.json")
        out = self.run("execute", f"--id={workflow['id']}", "--rawOutput")
        run: dict[str, Any] = json.loads(out[out.index("{") :])
        return run


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[N8n, str, QdrantStandIn]]:
    binary = app_binary("EMBEDRANK_N8N_BIN", "n8n 2.8.4", "bash .ci/install_n8n.sh")
    with live_server({"UI_ENABLED": "false", "API_KEY": KEY}) as url, serve_qdrant(free_port()) as qdrant:
        # What compose.yaml gives the n8n container, pointed at this test's servers.
        env = {
            "EMBEDRANK_URL": url,
            "EMBEDRANK_OPENAI_BASE_URL": f"{url}/v1",
            "EMBEDRANK_API_KEY": KEY,
            "QDRANT_URL": qdrant.url,
            "N8N_BLOCK_ENV_ACCESS_IN_NODE": "false",
        }
        n8n = N8n(binary, tmp_path_factory.mktemp("n8n-home"), env)
        # The shipped credentials file: same ids as the templates' placeholders, values from the environment.
        n8n.run("import:credentials", f"--input={CREDENTIALS}")
        yield n8n, url, qdrant


def test_every_template_imports_as_shipped(setup: tuple[N8n, str, QdrantStandIn]) -> None:
    n8n, _, _ = setup
    for path in TEMPLATES:
        n8n.run("import:workflow", f"--input={path}")
    listed = n8n.run("list:workflow")
    names = {json.loads(path.read_text(encoding="utf-8"))["name"] for path in TEMPLATES}
    assert len(TEMPLATES) == 3 and all(name in listed for name in names), listed


def headless(workflow: dict[str, Any], trigger: str, emits: dict[str, Any], drop: set[str]) -> None:
    """Replace `trigger` by Manual Trigger -> Code node of the same name emitting `emits`."""
    old = next(n for n in workflow["nodes"] if n["name"] == trigger)
    code = {**copy.deepcopy(old), "type": "n8n-nodes-base.code", "typeVersion": 2,
            "parameters": {"jsCode": f"return [{{ json: {json.dumps(emits)} }}];"}}  # fmt: skip
    code.pop("webhookId", None)
    start = {"id": "0d0e5f3c-0000-4000-8000-000000000001", "name": "Start", "parameters": {},
             "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [-200, 0]}  # fmt: skip
    workflow["nodes"] = [start, code, *(n for n in workflow["nodes"] if n["name"] not in drop | {trigger})]
    links = {src: out for src, out in workflow["connections"].items() if src not in drop}
    for out in links.values():
        for groups in out.values():
            groups[:] = [[t for t in group if t["node"] not in drop] for group in groups]
    links["Start"] = {"main": [[{"node": trigger, "type": "main", "index": 0}]]}
    workflow["connections"] = links


def node_output(run: dict[str, Any], name: str) -> list[dict[str, Any]]:
    data = run["data"]["resultData"]["runData"][name][0]["data"]["main"][0]
    return [item["json"] for item in data]


def test_ingest_then_query_then_agent_branch(setup: tuple[N8n, str, QdrantStandIn]) -> None:
    n8n, url, qdrant = setup
    ingest = {**template("embedrank_ingest.json"), "id": "embedrankIngest01"}
    run = n8n.execute(ingest)
    assert "error" not in run["data"]["resultData"], run["data"]["resultData"].get("error")
    points = list(qdrant.collections["embedrank_docs"]["points"].values())
    assert len(points) == 3 and all(len(p["vector"]) == 384 for p in points)
    assert {p["payload"]["metadata"]["source"] for p in points} >= {"handbook/shipping.md"}
    # n8n's node asks for base64 and decodes it itself: the stored vectors must be our vectors.
    text = points[0]["payload"]["content"]
    headers = {"Authorization": f"Bearer {KEY}"}
    answer = httpx.post(f"{url}/v1/embeddings", json={"input": text, "model": "any"}, headers=headers)
    ours = answer.json()["data"][0]["embedding"]
    assert cosine(points[0]["vector"], ours) > 0.999

    rag = {**template("embedrank_rag_query_api.json"), "id": "embedrankRag00001"}
    headless(rag, "Webhook", {"body": {"query": QUERY, "top_n": 2}}, {"Respond with passages"})
    passages = node_output(n8n.execute(rag), "Top passages")[0]["passages"]
    assert passages[0]["metadata"]["source"] == "handbook/shipping.md" and len(passages) == 2
    # The order and scores are our /v1/rerank's over every stored chunk (Qdrant's top 20 of 3).
    texts = [p["payload"]["content"] for p in points]
    ranked = httpx.post(f"{url}/v1/rerank", json={"query": QUERY, "documents": texts}, headers=headers).json()
    best = [(texts[r["index"]], round(r["relevance_score"], 5)) for r in ranked["results"][:2]]
    assert [(p["text"], round(p["relevance_score"], 5)) for p in passages] == best

    agent = {**template("embedrank_chat_agent.json"), "id": "embedrankAgent001"}
    llm_side = {
        "When chat message received",
        "AI Agent",
        "Chat model",
        "Chat memory",
        "search_knowledge_base",
    }
    headless(agent, "When called by the agent", {"query": QUERY}, llm_side)
    text = node_output(n8n.execute(agent), "Format for the agent")[0]["response"]
    assert text.startswith("[1] (handbook/shipping.md, relevance ")
