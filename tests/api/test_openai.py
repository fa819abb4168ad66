"""OpenAI dialect on the real app: /v1/embeddings shapes, base64, dimensions, token ids, /v1/models, errors."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.api.dialect_helpers import not_ready_client, while_queue_is_busy
from tests.conftest import AppClient

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]


async def native_vectors(client: httpx.AsyncClient, texts: list[str], **extra: object) -> np.ndarray:
    r = await client.post("/embed", json={"texts": texts, **extra})
    assert r.status_code == 200, r.text
    return np.array(r.json()["vectors"], dtype=np.float32)


def assert_openai_error(r: httpx.Response, status: int, fragment: str, param: str | None = None) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert fragment in error["message"]
    if param is not None:
        assert error["param"] == param


async def test_float_response_matches_embed(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/v1/embeddings", json={"input": TEXTS, "model": "text-embedding-3-small"})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list" and body["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    assert all(d["object"] == "embedding" for d in body["data"])
    vectors = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    np.testing.assert_array_equal(vectors, await native_vectors(minilm, TEXTS))
    assert vectors[0] @ vectors[1] == pytest.approx(0.755, abs=0.005)
    native = (await minilm.post("/embed", json={"texts": TEXTS})).json()["usage"]
    assert body["usage"] == native and body["usage"]["prompt_tokens"] > len(TEXTS) * 3
    for header in ("x-queue-time", "x-inference-time", "x-tokenization-time", "x-compute-tokens"):
        assert header in r.headers


async def test_base64_is_little_endian_float32(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/v1/embeddings", json={"input": TEXTS, "encoding_format": "base64"})
    assert r.status_code == 200
    data = r.json()["data"]
    decoded = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in data])
    assert decoded.shape == (3, 384)
    np.testing.assert_array_equal(decoded, await native_vectors(minilm, TEXTS))


async def test_single_string_and_order_kept(minilm: httpx.AsyncClient) -> None:
    single = (await minilm.post("/v1/embeddings", json={"input": TEXTS[2]})).json()
    assert len(single["data"]) == 1 and single["data"][0]["index"] == 0
    reversed_body = (await minilm.post("/v1/embeddings", json={"input": TEXTS[::-1]})).json()
    np.testing.assert_array_equal(
        np.array(reversed_body["data"][0]["embedding"], np.float32),
        np.array(single["data"][0]["embedding"], np.float32),
    )


async def test_null_optional_fields_mean_defaults(minilm: httpx.AsyncClient) -> None:
    nulls = {"encoding_format": None, "dimensions": None, "user": None, "input_type": None, "model": None}
    r = await minilm.post("/v1/embeddings", json={"input": TEXTS[:1], **nulls})
    assert r.status_code == 200
    expected = await native_vectors(minilm, TEXTS[:1])
    np.testing.assert_array_equal(np.array([r.json()["data"][0]["embedding"]], np.float32), expected)


async def test_dimensions_cut_then_renormalise(minilm: httpx.AsyncClient) -> None:
    raw = await native_vectors(minilm, ["qdrant"], normalize=False)
    body = (await minilm.post("/v1/embeddings", json={"input": ["qdrant"], "dimensions": 64})).json()
    cut = np.array(body["data"][0]["embedding"], np.float32)
    assert cut.shape == (64,)
    np.testing.assert_allclose(cut, raw[0, :64] / np.linalg.norm(raw[0, :64]), atol=1e-6)


async def test_token_ids_of_our_tokenizer_with_openai_token_ids_model(app_client: AppClient) -> None:
    async with app_client(openai_token_ids="model", ui_enabled=False) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        ids = engine.encoder.text.tokenize(TEXTS[:2])
        expected = await native_vectors(client, TEXTS[:2])
        one = (await client.post("/v1/embeddings", json={"input": ids[0]})).json()
        assert one["usage"]["prompt_tokens"] == len(ids[0])
        np.testing.assert_allclose(one["data"][0]["embedding"], expected[0], atol=1e-6)
        many = (await client.post("/v1/embeddings", json={"input": ids, "dimensions": 384})).json()
        np.testing.assert_allclose([d["embedding"] for d in many["data"]], expected, atol=1e-6)
        for body, status, fragment in [
            ({"input": [[101, 99999, 102]]}, 400, "served model's own tokenizer"),
            ({"input": [[101, -1, 102]]}, 400, "outside 0.."),
            ({"input": [[101, 102], []]}, 400, "input[1] is an empty token list"),
            ({"input": [101] * 300}, 413, "input[0] has 300 tokens; this model takes at most 256"),
        ]:
            assert_openai_error(await client.post("/v1/embeddings", json=body), status, fragment, "input")


async def test_models_list_and_lookup(minilm: httpx.AsyncClient) -> None:
    listing = (await minilm.get("/v1/models")).json()
    assert listing["object"] == "list"
    (model,) = listing["data"]
    assert model["id"] == "sentence-transformers/all-MiniLM-L6-v2" and model["object"] == "model"
    assert isinstance(model["created"], int) and model["owned_by"] == "embedrank"
    one = await minilm.get("/v1/models/sentence-transformers/all-MiniLM-L6-v2")
    assert one.status_code == 200 and one.json() == model
    assert_openai_error(await minilm.get("/v1/models/text-embedding-3-small"), 404, "does not exist", "model")


@pytest.mark.parametrize(
    "body, status, fragment, param",
    [
        ({"input": []}, 400, "must not be empty", "input"),
        ({"input": ["ok", 3]}, 400, "list of token ids", "input"),
        ({"input": [1.5]}, 400, "must be a string", "input"),
        ({"input": [True]}, 400, "must be a string", "input"),
        ({"model": "m"}, 400, "input: Field required", "input"),
        ({"input": "a", "dimensions": 0}, 400, "between 1 and 384", "dimensions"),
        ({"input": "a", "dimensions": 385}, 400, "between 1 and 384", "dimensions"),
        ({"input": "a", "encoding_format": "int8"}, 400, "encoding_format", "encoding_format"),
        ({"input": "a", "input_type": "passage"}, 400, "input_type", "input_type"),
        ({"input": "a", "temperature": 1}, 400, "temperature", "temperature"),
        ({"input": [[101, 102], []]}, 400, "input[1] is an empty token list", "input"),
        ({"input": [[9906, 5_000_000]]}, 400, "input[0] holds ids that are not cl100k_base tokens", "input"),
        ({"input": [[9906, -1]]}, 400, "not cl100k_base tokens", "input"),
        ({"input": ["x"] * 2049}, 413, "at most 2048", "input"),
        ([1, 2], 400, "valid dictionary", None),
    ],
)
async def test_errors_in_openai_shape(
    minilm: httpx.AsyncClient, body: object, status: int, fragment: str, param: str | None
) -> None:
    r = await minilm.post("/v1/embeddings", json=body)
    assert_openai_error(r, status, fragment, param)
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == ("invalid_request" if status == 400 else "payload_too_large")
    assert (await minilm.post("/v1/embeddings", json={"input": "still serving"})).status_code == 200


async def test_malformed_json_is_a_400(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/v1/embeddings", content=b"{nope", headers={"content-type": "application/json"})
    assert_openai_error(r, 400, "not valid JSON")


async def test_query_input_type_uses_the_instruction(app_client: AppClient, qwen3_path: Path) -> None:
    async with app_client(model_name=str(qwen3_path)) as client:
        doc = (await client.post("/v1/embeddings", json={"input": "the cat"})).json()
        query = (await client.post("/v1/embeddings", json={"input": "the cat", "input_type": "query"})).json()
        native = await native_vectors(client, ["the cat"], input_type="query")
        np.testing.assert_array_equal(np.array([query["data"][0]["embedding"]], np.float32), native)
        assert doc["data"][0]["embedding"] != query["data"][0]["embedding"]
        assert query["usage"]["prompt_tokens"] > doc["usage"]["prompt_tokens"]
    async with app_client(model_name=str(qwen3_path), openai_token_ids="model") as client:
        ids = client.app.state.engine.encoder.text.tokenize(["the cat"])  # type: ignore[attr-defined]
        as_ids = await client.post("/v1/embeddings", json={"input": ids, "input_type": "query"})
        assert_openai_error(as_ids, 400, "a query input needs text", "input_type")


async def test_not_ready_is_a_503_in_openai_shape() -> None:
    async with not_ready_client() as client:
        assert_openai_error(await client.post("/v1/embeddings", json={"input": "a"}), 503, "still loading")
        r = await client.get("/v1/models")
        assert_openai_error(r, 503, "still loading")
        assert r.json()["error"]["type"] == "server_error" and r.json()["error"]["code"] == "unavailable"


async def test_overloaded_is_a_429_with_retry_after(app_client: AppClient) -> None:
    async with app_client(max_queue_wait_s=1e-6, warmup=False) as client:
        first, second = await while_queue_is_busy(client, client.post("/v1/embeddings", json={"input": "another text"}))
        assert first.status_code == 200
        assert_openai_error(second, 429, "server is busy")
        assert second.json()["error"]["type"] == "rate_limit_error" and int(second.headers["retry-after"]) >= 1
