"""TEI's root route and similarity (huggingface_hub's InferenceClient on the server URL), tolerant /rerank."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub import constants as hf_constants

from tests.live_server import live_server

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]


async def native(client: httpx.AsyncClient, texts: list[str]) -> np.ndarray:
    r = await client.post("/embed", json={"texts": texts})
    return np.array(r.json()["vectors"], dtype=np.float32)


async def test_root_embed_body_is_the_embed_route(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/", json={"inputs": TEXTS, "normalize": True, "truncate": True})
    assert r.status_code == 200 and "x-inference-time" in r.headers
    np.testing.assert_array_equal(np.array(r.json(), np.float32), await native(minilm, TEXTS))
    single = await minilm.post("/", json={"inputs": TEXTS[0]})
    assert np.array(single.json()).shape == (1, 384)  # TEI answers a batch of one


async def test_similarity_is_the_cosine_with_the_source(minilm: httpx.AsyncClient) -> None:
    body = {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS[1:]}, "parameters": {}}
    vectors = await native(minilm, TEXTS)
    expected = vectors[1:] @ vectors[0]
    for path in ("/", "/similarity"):
        r = await minilm.post(path, json=body)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json(), expected, atol=1e-5)
    assert r.json()[0] > r.json()[1]  # bread is closer to food than a baby is
    no_params = await minilm.post("/similarity", json={"inputs": body["inputs"]})
    np.testing.assert_allclose(no_params.json(), expected, atol=1e-5)


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"inputs": {"source_sentence": "a", "sentences": []}}, "inputs.sentences: must not be empty"),
        ({"inputs": {"source_sentence": "", "sentences": ["b"]}}, "inputs.source_sentence"),
        ({"inputs": {"source_sentence": "a"}}, "inputs.sentences: Field required"),
        ({"inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": {"top_k": 1}}, "top_k"),
    ],
)
async def test_similarity_errors_in_tei_shape(minilm: httpx.AsyncClient, body: object, fragment: str) -> None:
    r = await minilm.post("/similarity", json=body)
    assert r.status_code == 422 and r.json()["error_type"] == "Validation", r.text
    assert fragment in r.json()["error"], r.json()


async def test_tei_rerank_accepts_fields_tei_ignores(minilm: httpx.AsyncClient) -> None:
    body = {"query": "What is Deep Learning?", "texts": TEXTS, "return_text": True}
    plain = await minilm.post("/rerank", json=body)
    tolerant = await minilm.post("/rerank", json={**body, "top_n": 1, "model": "x", "truncation_direction": "Right"})
    assert tolerant.status_code == 200, tolerant.text
    assert tolerant.json() == plain.json() and len(tolerant.json()) == 3  # TEI ranks every text


def test_huggingface_hub_inference_client_on_the_root_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real client, as its docs say for a self-hosted TEI: InferenceClient(model=URL), with a key."""
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # else it refuses even 127.0.0.1
    with live_server({"UI_ENABLED": "false", "API_KEY": "k"}) as base:
        client = InferenceClient(model=base, provider="hf-inference", token="k", timeout=60)
        vectors = np.asarray(client.feature_extraction(TEXTS[0]))
        expected = httpx.post(f"{base}/embed", json={"texts": TEXTS[:1]}, headers={"X-API-Key": "k"}).json()
        np.testing.assert_allclose(vectors.reshape(1, -1), expected["vectors"], atol=1e-6)
        scores = client.sentence_similarity(TEXTS[0], other_sentences=TEXTS[1:])
        assert len(scores) == 2 and scores[0] > scores[1]
