"""Opt-in: import the templates into a real n8n 2.8 CLI and run them on our server and a Qdrant stand-in."""

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

REPO = Path(__file__).resolve().parents[2]
# An n8n 2.8.x CLI (see n8n_templates/README.md). Webhook, chat trigger and LLM nodes cannot run headless, so
# they are swapped for a manual trigger and a Code node of the same name emitting what the trigger would;
# every other node runs as shipped.
N8N = os.environ.get("EMBEDRANK_N8N_BIN", "")
QUERY = "How long does standard shipping take?"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not N8N or not Path(N8N).exists(), reason="set EMBEDRANK_N8N_BIN to an n8n 2.8 CLI"),
]


def template(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "n8n_templates" / name).read_text(encoding="utf-8"))
    return data


class N8n:
    def __init__(self, home: Path) -> None:
        self.env = {
            **os.environ,
            "N8N_USER_FOLDER": str(home),
            "N8N_ENCRYPTION_KEY": "embedrank-test-key",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
        }
        self.home = home

    def run(self, *args: str) -> str:
        result = subprocess.run([N8N, *args], env=self.env, capture_output=True, text=True, timeout=300)
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
    n8n = N8n(tmp_path_factory.mktemp("n8n-home"))
    with live_server({"UI_ENABLED": "false"}) as url, serve_qdrant(free_port()) as qdrant:
        # Same ids as the templates' placeholders, so the imported nodes resolve them.
        credentials = [
            {"id": "REPLACE_embedrank_openai", "name": "embedrank", "type": "openAiApi",
             "data": {"apiKey": "any", "url": f"{url}/v1"}},
            {"id": "REPLACE_qdrant", "name": "Qdrant", "type": "qdrantApi",
             "data": {"qdrantUrl": qdrant.url, "apiKey": ""}},
            {"id": "REPLACE_embedrank_key", "name": "embedrank API key", "type": "httpBearerAuth",
             "data": {"token": "any"}},
        ]  # fmt: skip
        n8n.import_json("credentials", credentials, "credentials.json")
        yield n8n, url, qdrant


def headless(workflow: dict[str, Any], trigger: str, emits: dict[str, Any], drop: set[str], url: str) -> None:
    """Replace `trigger` by Manual Trigger -> Code node of the same name emitting `emits`; point at `url`."""
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
    text = json.dumps(workflow).replace("http://localhost:9000", url)
    workflow.clear()
    workflow.update(json.loads(text))


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
    ours = httpx.post(f"{url}/v1/embeddings", json={"input": text, "model": "any"}).json()["data"][0]["embedding"]
    assert cosine(points[0]["vector"], ours) > 0.999

    rag = {**template("embedrank_rag_query_api.json"), "id": "embedrankRag00001"}
    headless(rag, "Webhook", {"body": {"query": QUERY, "top_n": 2}}, {"Respond with passages"}, url)
    passages = node_output(n8n.execute(rag), "Top passages")[0]["passages"]
    assert passages[0]["metadata"]["source"] == "handbook/shipping.md" and len(passages) == 2

    agent = {**template("embedrank_chat_agent.json"), "id": "embedrankAgent001"}
    llm_side = {
        "When chat message received",
        "AI Agent",
        "Chat model",
        "Chat memory",
        "search_knowledge_base",
    }
    headless(agent, "When called by the agent", {"query": QUERY}, llm_side, url)
    text = node_output(n8n.execute(agent), "Format for the agent")[0]["response"]
    assert text.startswith("[1] (handbook/shipping.md, relevance ")
