"""The real openai SDK (and Open WebUI's embedding request) against a real server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import numpy as np
import openai
import pytest

from tests.live_server import live_server

pytestmark = pytest.mark.slow

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with live_server() as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> openai.OpenAI:
    # Any key works: the server does not check it unless told to (clients insist on sending one).
    return openai.OpenAI(base_url=f"{base}/v1", api_key="sk-local", max_retries=0)


def native_vectors(base: str, texts: list[str]) -> np.ndarray:
    return np.array(httpx.post(f"{base}/embed", json={"texts": texts}).json()["vectors"], dtype=np.float32)


def test_sdk_default_is_base64_and_equals_embed(base: str, client: openai.OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=TEXTS)
    assert json.loads(raw.http_request.content)["encoding_format"] == "base64"  # the SDK's own default
    response = raw.parse()
    assert [d.index for d in response.data] == [0, 1, 2]
    vectors = np.array([d.embedding for d in response.data], dtype=np.float32)
    np.testing.assert_array_equal(vectors, native_vectors(base, TEXTS))
    assert response.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert response.usage.prompt_tokens == response.usage.total_tokens > 3 * len(TEXTS)


def test_sdk_float_equals_embed(base: str, client: openai.OpenAI) -> None:
    response = client.embeddings.create(model="any", input=TEXTS, encoding_format="float")
    vectors = np.array([d.embedding for d in response.data], dtype=np.float32)
    np.testing.assert_array_equal(vectors, native_vectors(base, TEXTS))
    assert vectors[0] @ vectors[1] == pytest.approx(0.755, abs=0.005)


def test_sdk_dimensions(base: str, client: openai.OpenAI) -> None:
    raw = httpx.post(f"{base}/embed", json={"texts": TEXTS[:1], "normalize": False}).json()["vectors"][0]
    response = client.embeddings.create(model="any", input=TEXTS[0], dimensions=48)
    cut = np.array(response.data[0].embedding)
    assert cut.shape == (48,)
    np.testing.assert_allclose(cut, np.array(raw[:48]) / np.linalg.norm(raw[:48]), atol=1e-6)


def test_sdk_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.embeddings.create(model="any", input="x", dimensions=1000)
    assert bad.value.status_code == 400 and bad.value.param == "dimensions" and bad.value.code == "invalid_request"
    assert "between 1 and 384" in bad.value.message
    with pytest.raises(openai.BadRequestError, match="not cl100k_base tokens"):
        client.embeddings.create(model="any", input=[[101, 5_000_000, 102]])
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_sdk_models(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["sentence-transformers/all-MiniLM-L6-v2"]
    assert client.models.retrieve("sentence-transformers/all-MiniLM-L6-v2").owned_by == "embedrank"


def test_open_webui_embedding_request(base: str) -> None:
    # RAG_EMBEDDING_ENGINE=openai: one text per request, model name from its settings, Bearer key.
    r = httpx.post(
        f"{base}/v1/embeddings",
        json={"input": [TEXTS[1]], "model": "all-minilm"},
        headers={"Authorization": "Bearer sk-anything"},
    )
    assert r.status_code == 200
    np.testing.assert_array_equal(
        np.array([r.json()["data"][0]["embedding"]], np.float32), native_vectors(base, TEXTS[1:2])
    )
