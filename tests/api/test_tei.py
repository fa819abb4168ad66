"""TEI dialect on the native paths (/embed {inputs}, /rerank {texts}) plus /info and /tokenize, errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.api.dialect_helpers import not_ready_client, while_queue_is_busy
from tests.conftest import AppClient

TEXTS = ["A man is eating food.", "A man is eating a piece of bread."]
DOCS = ["Qdrant is a Rust-based vector database", "n8n can call Qdrant over HTTP", "LM Studio runs local models"]


def assert_tei_error(r: httpx.Response, status: int, fragment: str, error_type: str = "Validation") -> None:
    assert r.status_code == status, r.text
    assert r.json()["error_type"] == error_type and fragment in r.json()["error"]


async def native(client: httpx.AsyncClient, texts: list[str], **extra: object) -> list[list[float]]:
    vectors: list[list[float]] = (await client.post("/embed", json={"texts": texts, **extra})).json()["vectors"]
    return vectors


async def test_embed_returns_a_bare_list(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", json={"inputs": TEXTS})
    assert r.status_code == 200 and "x-inference-time" in r.headers
    assert r.json() == await native(minilm, TEXTS)
    single = (await minilm.post("/embed", json={"inputs": TEXTS[0]})).json()
    assert single == (await native(minilm, TEXTS[:1]))
    raw = (await minilm.post("/embed", json={"inputs": TEXTS, "normalize": False})).json()
    assert raw == await native(minilm, TEXTS, normalize=False) and np.linalg.norm(raw[0]) > 2
    cut = (
        await minilm.post("/embed", json={"inputs": TEXTS, "dimensions": 32, "truncation_direction": "right"})
    ).json()
    assert np.array(cut).shape == (2, 32)
    ids = minilm.app.state.engine.encoder.text.tokenize(TEXTS)  # type: ignore[attr-defined]
    np.testing.assert_allclose((await minilm.post("/embed", json={"inputs": ids})).json(), r.json(), atol=1e-6)


async def test_truncate(minilm: httpx.AsyncClient) -> None:
    long_text = "word " * 400
    assert (await minilm.post("/embed", json={"inputs": long_text})).status_code == 200
    assert (await minilm.post("/embed", json={"inputs": long_text, "truncate": True})).status_code == 200
    assert_tei_error(await minilm.post("/embed", json={"inputs": long_text, "truncate": False}), 413, "tokens")


async def test_prompt_name_query(app_client: AppClient, qwen3_path: Path) -> None:
    async with app_client(model_name=str(qwen3_path)) as client:
        query = (await client.post("/embed", json={"inputs": "the cat", "prompt_name": "query"})).json()
        assert query == await native(client, ["the cat"], input_type="query")
        document = (await client.post("/embed", json={"inputs": "the cat", "prompt_name": "document"})).json()
        assert document == await native(client, ["the cat"]) and document != query
        tokens = (await client.post("/tokenize", json={"inputs": "the cat", "prompt_name": "query"})).json()[0]
        assert tokens[-1]["special"] and len(tokens) > 10  # the instruction, then the EOS the model sees


async def test_rerank_bare_list_scores_and_text(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/rerank", json={"query": "How to integrate Qdrant?", "texts": DOCS, "return_text": True})
    assert r.status_code == 200 and r.headers["x-rerank-method"] == "bi-encoder"
    ranks = r.json()
    assert sorted(rank["index"] for rank in ranks) == [0, 1, 2]
    assert all(rank["text"] == DOCS[rank["index"]] and 0 <= rank["score"] <= 1 for rank in ranks)
    assert [rank["score"] for rank in ranks] == sorted((rank["score"] for rank in ranks), reverse=True)
    raw = await minilm.post("/rerank", json={"query": "How to integrate Qdrant?", "texts": DOCS, "raw_scores": True})
    cosines = {item["index"]: item["score"] for item in raw.json()}
    assert all("text" not in item for item in raw.json())
    for rank in ranks:
        assert rank["score"] == pytest.approx((cosines[rank["index"]] + 1) / 2, abs=1e-6)


async def test_rerank_with_cross_encoder(app_client: AppClient, cross_encoder_path: Path) -> None:
    texts = [f"the cat number {i} eats food" for i in range(60)]
    async with app_client(cross_encoder_model=str(cross_encoder_path)) as client:
        r = await client.post("/rerank", json={"query": "the cat", "texts": texts})
        assert r.headers["x-rerank-method"] == "cross-encoder" and len(r.json()) == 60  # no pre-ranking cut
        raw = (await client.post("/rerank", json={"query": "the cat", "texts": texts, "raw_scores": True})).json()
        logits = {item["index"]: item["score"] for item in raw}
        for rank in r.json():
            assert rank["score"] == pytest.approx(1 / (1 + np.exp(-logits[rank["index"]])), abs=1e-6)
        too_long = await client.post("/rerank", json={"query": "the cat", "texts": ["cat " * 600], "truncate": False})
        assert_tei_error(too_long, 413, "truncate: true")
        ok = await client.post("/rerank", json={"query": "the cat", "texts": ["cat " * 600]})
        assert ok.status_code == 200


async def test_info(minilm: httpx.AsyncClient) -> None:
    info = (await minilm.get("/info")).json()
    assert info["model_id"] == "sentence-transformers/all-MiniLM-L6-v2" and info["max_input_length"] == 256
    assert info["model_type"]["embedding"]["pooling"] and info["max_client_batch_size"] == 2048
    assert info["model_dtype"] == "float32" and info["auto_truncate"] is True and info["version"]


async def test_tokenize_matches_what_the_model_sees(minilm: httpx.AsyncClient) -> None:
    tokens = (await minilm.post("/tokenize", json={"inputs": "Hello world!"})).json()
    ids = minilm.app.state.engine.encoder.text.tokenize(["Hello world!"])[0]  # type: ignore[attr-defined]
    assert [t["id"] for t in tokens[0]] == ids
    assert tokens[0][0] == {"id": 101, "text": "[CLS]", "special": True, "start": None, "stop": None}
    assert tokens[0][1] == {"id": ids[1], "text": "Hello", "special": False, "start": 0, "stop": 5}
    bare = (await minilm.post("/tokenize", json={"inputs": ["Hello world!", "b"], "add_special_tokens": False})).json()
    assert len(bare) == 2 and [t["text"] for t in bare[0]] == ["Hello", "world", "!"]


async def test_tokenize_shows_the_appended_eos(app_client: AppClient, qwen3_bare_path: Path) -> None:
    async with app_client(model_name=str(qwen3_bare_path), warmup=False) as client:
        tokens = (await client.post("/tokenize", json={"inputs": "the cat"})).json()[0]
        assert tokens[-1] == {
            "id": tokens[-1]["id"],
            "text": "<|endoftext|>",
            "special": True,
            "start": None,
            "stop": None,
        }
        assert "".join(t["text"] for t in tokens[:-1]) == "the cat"


@pytest.mark.parametrize(
    "path, body, status, fragment",
    [
        ("/embed", {"inputs": []}, 422, "inputs must not be empty"),
        ("/embed", {"inputs": 5}, 422, "inputs: must be a string"),
        ("/embed", {"inputs": "a", "dimensions": 999}, 422, "between 1 and 384"),
        ("/embed", {"inputs": "a", "prompt_name": "classification"}, 422, "prompt_name"),
        ("/embed", {"inputs": "a", "truncation_direction": "Left"}, 422, "truncation_direction"),
        ("/embed", {"inputs": "a", "pooling": "cls"}, 422, "pooling"),
        ("/embed", {"inputs": [[101, 10**6]]}, 422, "tokenizer"),
        ("/embed", {"inputs": ["x"] * 2049}, 413, "inputs has 2049 items"),
        ("/rerank", {"query": "q", "texts": []}, 422, "texts"),
        ("/rerank", {"texts": ["a"]}, 422, "query: Field required"),
        ("/rerank", {"query": "q", "texts": ["a"], "raw_scores": "maybe"}, 422, "raw_scores"),
        ("/tokenize", {"inputs": 3}, 422, "inputs"),
        ("/tokenize", {"inputs": []}, 422, "inputs must not be empty"),
    ],
)
async def test_errors_in_tei_shape(
    minilm: httpx.AsyncClient, path: str, body: object, status: int, fragment: str
) -> None:
    assert_tei_error(await minilm.post(path, json=body), status, fragment)
    assert (await minilm.post("/embed", json={"inputs": "still serving"})).status_code == 200


async def test_mixed_or_unknown_bodies_name_each_dialect(minilm: httpx.AsyncClient) -> None:
    mixed = await minilm.post("/rerank", json={"query": "q", "texts": ["a"], "passages": ["b"]})
    assert mixed.status_code == 422
    message = mixed.json()["detail"]
    assert "several dialects" in message and "native: [" in message and "tei: [" in message and "raw_scores" in message


async def test_not_ready_and_overloaded(app_client: AppClient) -> None:
    async with not_ready_client() as client:
        assert_tei_error(await client.post("/embed", json={"inputs": "a"}), 503, "loading", "Unhealthy")
        assert_tei_error(await client.get("/info"), 503, "loading", "Unhealthy")
    async with app_client(max_queue_wait_s=1e-6, warmup=False) as client:
        busy, r = await while_queue_is_busy(client, client.post("/embed", json={"inputs": "another text"}))
        assert busy.status_code == 200
        assert_tei_error(r, 429, "server is busy", "Overloaded")
