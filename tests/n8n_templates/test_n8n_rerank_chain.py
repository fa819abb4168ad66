"""The templates' Code nodes and rerank request, run by Node against our real server (not inside n8n)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import live_server

REPO = Path(__file__).resolve().parents[2]
SIMULATOR = Path(__file__).resolve().parent / "node" / "simulate_rerank.cjs"
QUERY = "How many days do customers have to return an item?"
OFFICE = "Our office is closed on public holidays."
RETURNS = "Customers may return unused items within 30 days of delivery for a full refund."
SHIPPING = "Standard shipping takes 3 to 5 business days."
# Qdrant's order (by vector score) puts the answer last; the rerank must bring it first.
HITS = [
    {"document": {"pageContent": OFFICE, "metadata": {"source": "office.md"}}, "score": 0.61},
    {"document": {"pageContent": SHIPPING, "metadata": {"source": "shipping.md"}}, "score": 0.55},
    {"document": {"pageContent": RETURNS, "metadata": {"source": "returns.md"}}, "score": 0.42},
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


@pytest.fixture(scope="module")
def embedrank() -> Iterator[str]:
    with live_server({"UI_ENABLED": "false"}) as url:
        yield url


def simulate(template: str, url: str, scenario: dict[str, Any], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps(scenario), encoding="utf-8")
    argv = ["node", str(SIMULATOR), str(REPO / "n8n_templates" / template), url, str(scenario_file)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.stdout, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def test_rag_api_returns_reranked_passages(embedrank: str, tmp_path: Path) -> None:
    scenario = {"trigger": {"body": {"query": QUERY, "top_n": 2}}, "hits": HITS}
    code, report = simulate("embedrank_rag_query_api.json", embedrank, scenario, tmp_path)
    assert code == 0, report
    assert report["url"].endswith("/v1/rerank") and report["status"] == 200
    assert report["request"] == {"query": QUERY, "documents": [OFFICE, SHIPPING, RETURNS], "top_n": 2,
                                 "return_documents": False}  # fmt: skip
    (answer,) = report["output"]
    passages = answer["json"]["passages"]
    assert passages[0]["text"] == RETURNS and len(passages) == 2
    assert passages[0]["metadata"] == {"source": "returns.md"} and passages[0]["qdrant_score"] == 0.42
    assert 0.0 <= passages[1]["relevance_score"] <= passages[0]["relevance_score"] <= 1.0


def test_agent_tool_text_lists_the_best_passage_first(embedrank: str, tmp_path: Path) -> None:
    scenario = {"trigger": {"query": QUERY}, "hits": HITS}
    code, report = simulate("embedrank_chat_agent.json", embedrank, scenario, tmp_path)
    assert code == 0, report
    text = report["output"][0]["json"]["response"]
    assert text.startswith("[1] (returns.md, relevance ") and RETURNS in text.split("\n\n")[0]
    assert text.count("\n\n") == 2


@pytest.mark.parametrize("template", ["embedrank_rag_query_api.json", "embedrank_chat_agent.json"])
def test_no_hits_is_an_empty_answer_not_an_error(embedrank: str, template: str, tmp_path: Path) -> None:
    scenario = {"trigger": {"body": {"query": QUERY}, "query": QUERY}, "hits": []}
    code, report = simulate(template, embedrank, scenario, tmp_path)
    assert code == 0, report
    out = report["output"][0]["json"]
    assert out.get("passages", []) == [] and out.get("response", "No matching passages found.").startswith("No")


def test_a_failing_rerank_is_reported_not_hidden(embedrank: str, tmp_path: Path) -> None:
    # A wrong base URL answers 404: the chain must fail loudly, not answer "no passages".
    scenario = {"trigger": {"body": {"query": QUERY}}, "hits": HITS}
    code, report = simulate("embedrank_rag_query_api.json", embedrank + "/nowhere", scenario, tmp_path)
    assert code == 1 and "embedrank /v1/rerank failed" in report["error"]
