"""The original spec's API on the real app (lifespan included): fields, errors, rerank methods."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import AppClient

SPEC_PASSAGES = [
    "Qdrant is a Rust-based vector database",
    "n8n can call Qdrant over HTTP",
    "LM Studio runs local models",
]


async def test_embed_matches_the_original_response(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", json={"texts": ["What is RAG?", "Qdrant is a vector database"], "batch_size": 32})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"vectors", "dim", "backend", "device"}
    assert body["dim"] == 384 and len(body["vectors"]) == 2 and len(body["vectors"][0]) == 384
    assert body["backend"] == "torch:sentence-transformers/all-MiniLM-L6-v2"
    assert body["device"] == "cpu"
    assert body["usage"]["prompt_tokens"] > 4
    np.testing.assert_allclose(np.linalg.norm(body["vectors"], axis=1), 1.0, atol=1e-5)
    for header in ("x-queue-time", "x-inference-time", "x-tokenization-time", "x-compute-tokens"):
        assert header in r.headers


async def test_known_similarity_and_raw_vectors(minilm: httpx.AsyncClient) -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread."]
    unit = np.array((await minilm.post("/embed", json={"texts": texts})).json()["vectors"])
    assert unit[0] @ unit[1] == pytest.approx(0.755, abs=0.005)
    raw = np.array((await minilm.post("/embed", json={"texts": texts, "normalize": False})).json()["vectors"])
    assert np.linalg.norm(raw[0]) > 2
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit, atol=1e-5)


async def test_matryoshka_dimensions(minilm: httpx.AsyncClient) -> None:
    full = np.array((await minilm.post("/embed", json={"texts": ["qdrant"], "normalize": False})).json()["vectors"])
    r = await minilm.post("/embed", json={"texts": ["qdrant"], "dimensions": 64})
    cut = np.array(r.json()["vectors"])
    assert r.json()["dim"] == 64
    np.testing.assert_allclose(cut[0], full[0, :64] / np.linalg.norm(full[0, :64]), atol=1e-5)


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"texts": []}, 422, "must not be empty"),
        ({"texts": ["ok", 3]}, 422, "texts[1]"),
        ({"texts": "not a list"}, 422, "texts"),
        ({"texts": ["a"], "dimensions": 0}, 422, "between 1 and 384"),
        ({"texts": ["a"], "dimensions": 385}, 422, "between 1 and 384"),
        ({"texts": ["a"], "input_type": "passage"}, 422, "input_type"),
        ({"texts": ["word " * 400], "truncate": False}, 413, "tokens"),
        ({"texts": ["a"], "inputs": ["b"]}, 422, "mixes keys of several dialects"),
        ({"text": ["a"]}, 422, "no dialect"),
        ({"texts": ["a"], "colour": 1}, 422, "colour"),
    ],
)
async def test_embed_errors_are_clear(minilm: httpx.AsyncClient, body: object, status: int, fragment: str) -> None:
    r = await minilm.post("/embed", json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]
    assert (await minilm.post("/embed", json={"texts": ["still serving"]})).status_code == 200


async def test_malformed_json_is_a_4xx(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]


async def test_long_input_is_truncated_by_default(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", json={"texts": ["word " * 400]})
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] == 256


async def test_bi_encoder_rerank(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/rerank", json={"query": "How to integrate Qdrant?", "passages": SPEC_PASSAGES, "top_k": 2})
    body = r.json()
    assert r.status_code == 200 and body["method"] == "bi-encoder"
    assert len(body["results"]) == 2
    first = body["results"][0]
    assert first["text"] == SPEC_PASSAGES[first["index"]]
    assert body["results"][0]["score"] >= body["results"][1]["score"]
    vectors = np.array((await minilm.post("/embed", json={"texts": [SPEC_PASSAGES[first["index"]]]})).json()["vectors"])
    query = np.array((await minilm.post("/embed", json={"texts": ["How to integrate Qdrant?"]})).json()["vectors"])
    assert first["score"] == pytest.approx(float(vectors[0] @ query[0]), abs=1e-5)


async def test_cross_encoder_requested_without_one_is_4xx(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post(
        "/rerank", json={"query": "q", "passages": SPEC_PASSAGES, "top_k": 2, "use_cross_encoder": True}
    )
    assert r.status_code == 400 and "CROSS_ENCODER_MODEL" in r.json()["detail"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"query": "q", "passages": []}, "must not be empty"),
        ({"query": "q", "passages": ["a"], "top_k": 0}, "top_k"),
        ({"query": 5, "passages": ["a"]}, "query"),
    ],
)
async def test_rerank_errors(minilm: httpx.AsyncClient, body: object, fragment: str) -> None:
    r = await minilm.post("/rerank", json=body)
    assert r.status_code == 422 and fragment in r.json()["detail"]


async def test_health_and_ready(minilm: httpx.AsyncClient) -> None:
    health = (await minilm.get("/health")).json()
    assert health["status"] == "ok" and health["dim"] == 384 and health["cross_encoder"] is None
    assert health["model"] == "sentence-transformers/all-MiniLM-L6-v2" and health["device"] == "cpu"
    assert (await minilm.get("/ready")).status_code == 200


async def test_cache_serves_repeated_texts(minilm: httpx.AsyncClient) -> None:
    before = (await minilm.get("/health")).json()["stats"]["cache"]["hits"]
    first = await minilm.post("/embed", json={"texts": ["a repeated sentence about caching"]})
    second = await minilm.post("/embed", json={"texts": ["a repeated sentence about caching"]})
    assert first.json()["vectors"] == second.json()["vectors"]
    assert second.headers["x-compute-tokens"] == "0"
    assert (await minilm.get("/health")).json()["stats"]["cache"]["hits"] == before + 1


async def test_cross_encoder_and_two_stage(app_client: AppClient, cross_encoder_path: Path) -> None:
    passages = [f"the cat number {i} eats food" for i in range(12)] + ["gpu memory", "a dog"]
    async with app_client(cross_encoder_model=str(cross_encoder_path), rerank_candidates=5) as client:
        assert (await client.get("/health")).json()["cross_encoder"] == str(cross_encoder_path)
        full = (await client.post("/rerank", json={"query": "the cat", "passages": passages})).json()
        assert full["method"] == "cross-encoder" and len(full["results"]) == len(passages)
        scores = [item["score"] for item in full["results"]]
        assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
        two = (await client.post("/rerank", json={"query": "the cat", "passages": passages, "top_k": 3})).json()
        assert two["method"] == "bi+cross-encoder" and len(two["results"]) == 3
        bi = await client.post(
            "/rerank", json={"query": "the cat", "passages": passages, "top_k": 3, "use_cross_encoder": False}
        )
        assert bi.json()["method"] == "bi-encoder"
        small = (await client.post("/rerank", json={"query": "the cat", "passages": passages[:4], "top_k": 2})).json()
        assert small["method"] == "cross-encoder"
        by_index = {item["index"]: item["score"] for item in full["results"]}
        for item in small["results"]:
            assert item["score"] == pytest.approx(by_index[item["index"]], abs=1e-6)


async def test_qwen3_queries_get_the_instruction(app_client: AppClient, qwen3_path: Path) -> None:
    async with app_client(model_name=str(qwen3_path)) as client:
        health = (await client.get("/health")).json()
        assert health["family"] == "qwen3-embedding" and health["dim"] == 64
        doc = (await client.post("/embed", json={"texts": ["the cat"]})).json()
        query = (await client.post("/embed", json={"texts": ["the cat"], "input_type": "query"})).json()
        assert doc["vectors"] != query["vectors"]
        assert query["usage"]["prompt_tokens"] > doc["usage"]["prompt_tokens"]
        engine = client.app.state.engine  # type: ignore[attr-defined]
        prompt = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:the cat"
        expected = (await client.post("/embed", json={"texts": [prompt]})).json()["vectors"]
        np.testing.assert_allclose(query["vectors"], expected, atol=1e-6)
        custom = (
            await client.post("/embed", json={"texts": ["the cat"], "input_type": "query", "instruction": "Find cats"})
        ).json()
        assert custom["vectors"] != query["vectors"]
        assert engine.prompts.format("x", "query", "T") == "Instruct: T\nQuery:x"
