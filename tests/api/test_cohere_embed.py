"""Cohere embed (/v1/embed, /v2/embed) on the real MiniLM: input types, embedding types, truncate, errors."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

TEXTS = ["Qdrant is a Rust-based vector database", "LM Studio runs local models", "a cat"]


async def native(client: httpx.AsyncClient, texts: list[str], **extra: object) -> np.ndarray:
    r = await client.post("/embed", json={"texts": texts, **extra})
    return np.array(r.json()["vectors"], dtype=np.float32)


async def test_v1_floats_and_by_type(minilm: httpx.AsyncClient) -> None:
    floats = await minilm.post("/v1/embed", json={"texts": TEXTS, "model": "embed-english-v3.0"})
    body = floats.json()
    assert floats.status_code == 200 and body["response_type"] == "embeddings_floats" and body["texts"] == TEXTS
    expected = await native(minilm, TEXTS)
    np.testing.assert_allclose(body["embeddings"], expected, atol=1e-6)
    assert body["meta"]["api_version"]["version"] == "1" and body["meta"]["billed_units"]["input_tokens"] > 6
    types = ["float", "int8", "uint8", "binary", "ubinary"]
    typed = (await minilm.post("/v1/embed", json={"texts": TEXTS, "embedding_types": types})).json()
    assert typed["response_type"] == "embeddings_by_type" and set(typed["embeddings"]) == set(types)
    e = {k: np.array(v) for k, v in typed["embeddings"].items()}
    np.testing.assert_array_equal(e["int8"], np.rint(expected * 127))  # unit vector x 127, rounded
    np.testing.assert_array_equal(e["uint8"], e["int8"] + 128)
    bits = np.unpackbits(e["ubinary"].astype(np.uint8), axis=1)
    np.testing.assert_array_equal(bits, (expected > 0).astype(np.uint8))  # first dimension = highest bit
    np.testing.assert_array_equal(e["binary"], e["ubinary"] - 128)
    assert e["int8"].min() >= -128 and e["ubinary"].shape == (3, 48)
    cosine = (e["int8"] * expected).sum(1) / np.linalg.norm(e["int8"], axis=1)
    assert cosine.min() > 0.99


async def test_v2_default_float_base64_and_dimensions(minilm: httpx.AsyncClient) -> None:
    body = {"texts": TEXTS, "input_type": "search_document", "model": "embed-v4.0"}
    r = (await minilm.post("/v2/embed", json=body)).json()
    assert list(r["embeddings"]) == ["float"] and r["meta"]["api_version"]["version"] == "2"
    expected = await native(minilm, TEXTS)
    np.testing.assert_allclose(r["embeddings"]["float"], expected, atol=1e-6)
    b64 = (await minilm.post("/v2/embed", json={**body, "embedding_types": ["base64"]})).json()
    decoded = np.stack([np.frombuffer(base64.b64decode(s), "<f4") for s in b64["embeddings"]["base64"]])
    np.testing.assert_array_equal(decoded, expected)
    cut = (await minilm.post("/v2/embed", json={**body, "output_dimension": 64})).json()
    assert np.array(cut["embeddings"]["float"]).shape == (3, 64)


@pytest.mark.parametrize(
    "input_type, native_type", [("search_query", "query"), ("classification", "classification"), ("clustering", None)]
)
async def test_input_types_map_to_prompts(
    app_client: object, qwen3_path: object, input_type: str, native_type: str | None
) -> None:
    async with app_client(model_name=str(qwen3_path), ui_enabled=False) as client:  # type: ignore[operator]
        r = await client.post("/v2/embed", json={"texts": ["the cat"], "input_type": input_type})
        got = np.array(r.json()["embeddings"]["float"], np.float32)
        doc = await native(client, ["the cat"])
        assert not np.allclose(got, doc)  # Qwen3 instructs queries and classification/clustering inputs
        if native_type == "query":
            np.testing.assert_allclose(got, await native(client, ["the cat"], input_type="query"), atol=1e-6)
        engine = client.app.state.engine
        formatted = engine.prompts.format("the cat", "classification" if input_type != "clustering" else "clustering")
        if input_type != "search_query":
            assert formatted.startswith("Instruct: ") and formatted.endswith("the cat")


async def test_truncate_start_keeps_the_end(minilm: httpx.AsyncClient) -> None:
    tail = "the final words decide the vector"
    long_text = "filler " * 400 + tail
    start = (await minilm.post("/v1/embed", json={"texts": [long_text], "truncate": "START"})).json()
    end = (await minilm.post("/v1/embed", json={"texts": [long_text], "truncate": "END"})).json()
    filler_only = await native(minilm, ["filler " * 400])
    tail_only = await native(minilm, [tail])
    start_v, end_v = np.array(start["embeddings"][0]), np.array(end["embeddings"][0])
    assert start_v @ tail_only[0] > end_v @ tail_only[0]
    np.testing.assert_allclose(end_v, filler_only[0], atol=1e-5)  # END keeps only filler: the first 256 tokens
    assert start["meta"]["billed_units"]["input_tokens"] <= 256
    none = await minilm.post("/v1/embed", json={"texts": [long_text], "truncate": "NONE"})
    assert none.status_code == 413 and none.json()["message"].startswith("texts[0] has")


@pytest.mark.parametrize(
    "path, body, status, fragment, param",
    [
        ("/v1/embed", {"texts": []}, 400, "texts must not be empty", "texts"),
        ("/v1/embed", {"texts": ["a"], "embedding_types": ["base64"]}, 400, "embedding_types", "embedding_types"),
        ("/v2/embed", {"texts": ["a"]}, 400, "input_type: Field required", "input_type"),
        ("/v2/embed", {"texts": ["a"], "input_type": "image"}, 400, "text only", "texts"),
        ("/v2/embed", {"texts": ["a"], "input_type": "search_query", "output_dimension": 999}, 400,
         "output_dimension must be between 1 and 384", "output_dimension"),
        ("/v1/embed", {"texts": ["x"] * 2049}, 413, "texts has 2049 items", "texts"),
        ("/v1/embed", {"input": ["a"]}, 400, "unknown field `input`", "texts"),
    ],
)  # fmt: skip
async def test_errors_in_cohere_shape(
    minilm: httpx.AsyncClient, path: str, body: object, status: int, fragment: str, param: str
) -> None:
    r = await minilm.post(path, json=body)
    assert r.status_code == status, r.text
    assert fragment in r.json()["message"] and r.json()["param"] == param, r.json()
