"""Cohere/Jina rerank on the real app: every document scored, 0..1 scores, the cross-encoder used, errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.api.dialect_helpers import not_ready_client, while_queue_is_busy
from tests.conftest import AppClient

QUERY = "How to integrate Qdrant?"
DOCS = ["Qdrant is a Rust-based vector database", "n8n can call Qdrant over HTTP", "LM Studio runs local models"]
CATS = [f"the cat number {i} eats food" for i in range(12)] + ["gpu memory", "a dog"]


def assert_cohere_error(r: httpx.Response, status: int, fragment: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert fragment in body["message"] and body["detail"] == body["message"]


@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank"])
async def test_bi_encoder_scores_every_document_in_0_to_1(minilm: httpx.AsyncClient, path: str) -> None:
    r = await minilm.post(path, json={"model": "rerank-v3.5", "query": QUERY, "documents": DOCS})
    assert r.status_code == 200 and r.headers["x-rerank-method"] == "bi-encoder"
    body = r.json()
    assert body["meta"]["api_version"]["version"] == path[2] and body["id"]
    assert body["model"] == "sentence-transformers/all-MiniLM-L6-v2" and body["usage"]["total_tokens"] > 0
    results = body["results"]
    assert sorted(item["index"] for item in results) == [0, 1, 2]
    assert all("document" not in item for item in results)
    scores = [item["relevance_score"] for item in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    native = (await minilm.post("/rerank", json={"query": QUERY, "passages": DOCS})).json()["results"]
    cosine = {item["index"]: item["score"] for item in native}
    for item in results:  # documented mapping: (cosine + 1) / 2
        assert item["relevance_score"] == pytest.approx((cosine[item["index"]] + 1) / 2, abs=1e-6)
    assert "x-inference-time" in r.headers


async def test_documents_objects_top_n_and_return_documents(minilm: httpx.AsyncClient) -> None:
    docs = [DOCS[0], {"text": DOCS[1], "source": "n8n.md"}, {"text": DOCS[2]}]
    body = {"query": QUERY, "documents": docs, "top_n": 2, "return_documents": True}
    results = (await minilm.post("/v1/rerank", json=body)).json()["results"]
    assert len(results) == 2
    for item in results:
        expected = docs[item["index"]]
        assert item["document"] == (expected if isinstance(expected, dict) else {"text": expected})
    many = (await minilm.post("/v1/rerank", json={"query": QUERY, "documents": DOCS, "top_n": 500})).json()
    assert len(many["results"]) == 3
    nulls = {"top_n": None, "return_documents": None, "model": None, "max_tokens_per_doc": None}
    plain = (await minilm.post("/v1/rerank", json={"query": QUERY, "documents": DOCS, **nulls})).json()
    assert len(plain["results"]) == 3 and all("document" not in item for item in plain["results"])


async def test_cross_encoder_is_used_and_scores_are_sigmoids(app_client: AppClient, cross_encoder_path: Path) -> None:
    async with app_client(cross_encoder_model=str(cross_encoder_path), rerank_candidates=5) as client:
        native = (await client.post("/rerank", json={"query": "the cat", "passages": CATS})).json()
        assert native["method"] == "cross-encoder"
        expected = {item["index"]: item["score"] for item in native["results"]}
        for top_n in (None, len(CATS), 40):
            r = await client.post("/v2/rerank", json={"query": "the cat", "documents": CATS, "top_n": top_n})
            assert r.headers["x-rerank-method"] == "cross-encoder", top_n
            body = r.json()
            assert body["model"] == str(cross_encoder_path) and len(body["results"]) == len(CATS)
            for item in body["results"]:
                assert item["relevance_score"] == pytest.approx(expected[item["index"]], abs=1e-6)
            scores = [item["relevance_score"] for item in body["results"]]
            assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
            assert len(set(np.round(scores, 6))) > 1
        two_stage = await client.post("/v1/rerank", json={"query": "the cat", "documents": CATS, "top_n": 3})
        assert two_stage.headers["x-rerank-method"] == "bi+cross-encoder" and len(two_stage.json()["results"]) == 3


async def test_compat_method_setting(app_client: AppClient, cross_encoder_path: Path) -> None:
    async with app_client(cross_encoder_model=str(cross_encoder_path), rerank_compat_method="bi-encoder") as client:
        r = await client.post("/v1/rerank", json={"query": "the cat", "documents": CATS[:3]})
        assert r.headers["x-rerank-method"] == "bi-encoder"
        native = await client.post("/rerank", json={"query": "the cat", "passages": CATS[:3]})
        assert native.json()["method"] == "cross-encoder"  # the native default is a separate setting


async def test_cross_encoder_demanded_but_missing_is_a_400(app_client: AppClient) -> None:
    async with app_client(rerank_compat_method="cross-encoder", warmup=False) as client:
        r = await client.post("/v1/rerank", json={"query": "q", "documents": DOCS})
        assert_cohere_error(r, 400, "CROSS_ENCODER_MODEL")


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"query": QUERY, "documents": []}, 400, "documents"),
        ({"documents": DOCS}, 400, "query: Field required"),
        ({"query": 5, "documents": DOCS}, 400, "query"),
        ({"query": QUERY, "documents": DOCS, "top_n": 0}, 400, "top_n"),
        ({"query": QUERY, "documents": [{"title": "no text"}]}, 400, "documents: item 0"),
        ({"query": QUERY, "documents": [3]}, 400, "documents: item 0"),
        ({"query": QUERY, "documents": DOCS, "rank_fields": ["title"]}, 400, "rank_fields"),
        ({"query": QUERY, "documents": ["x"] * 2049}, 413, "documents has 2049 items"),
        ({"query": QUERY, "documents": ["x" * 100_001]}, 413, "documents[0] has 100001 characters"),
    ],
)
async def test_errors_in_cohere_shape(minilm: httpx.AsyncClient, body: object, status: int, fragment: str) -> None:
    for path in ("/v1/rerank", "/v2/rerank"):
        assert_cohere_error(await minilm.post(path, json=body), status, fragment)
    assert (await minilm.post("/v1/rerank", json={"query": "q", "documents": DOCS})).status_code == 200


async def test_malformed_json_is_a_400(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/v2/rerank", content=b"{nope", headers={"content-type": "application/json"})
    assert_cohere_error(r, 400, "not valid JSON")


async def test_not_ready_and_overloaded(app_client: AppClient) -> None:
    async with not_ready_client() as client:
        assert_cohere_error(await client.post("/v1/rerank", json={"query": "q", "documents": DOCS}), 503, "loading")
    async with app_client(max_queue_wait_s=1e-6, warmup=False) as client:
        busy, r = await while_queue_is_busy(client, client.post("/v2/rerank", json={"query": "q", "documents": DOCS}))
        assert busy.status_code == 200
        assert_cohere_error(r, 429, "server is busy")
        assert int(r.headers["retry-after"]) >= 1
