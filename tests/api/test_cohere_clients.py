"""The real cohere SDK and Open WebUI's external-reranker request against a real server with a cross-encoder."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import cohere
import httpx
import numpy as np
import pytest

from tests.live_server import live_server

pytestmark = pytest.mark.slow

CATS = [f"the cat number {i} eats food" for i in range(38)] + ["gpu memory", "a dog"]


@pytest.fixture(scope="module")
def base(cross_encoder_path: Path) -> Iterator[str]:
    with live_server(env={"CROSS_ENCODER_MODEL": str(cross_encoder_path)}) as url:
        yield url


def native_scores(base: str, query: str, passages: list[str]) -> dict[int, float]:
    body = httpx.post(f"{base}/rerank", json={"query": query, "passages": passages}).json()
    assert body["method"] == "cross-encoder"
    return {item["index"]: item["score"] for item in body["results"]}


def test_cohere_v2_client(base: str) -> None:
    client = cohere.ClientV2(api_key="local", base_url=base)
    response = client.rerank(model="rerank-v3.5", query="the cat", documents=CATS[:5], top_n=3)
    assert len(response.results) == 3
    expected = native_scores(base, "the cat", CATS[:5])
    for result in response.results:
        assert result.relevance_score == pytest.approx(expected[result.index], abs=1e-6)
    scores = [r.relevance_score for r in response.results]
    assert scores == sorted(scores, reverse=True) == sorted(expected.values(), reverse=True)[:3]
    every = client.rerank(model="rerank-v3.5", query="the cat", documents=CATS[:5])
    assert sorted(r.index for r in every.results) == [0, 1, 2, 3, 4]


def test_cohere_v1_client_with_documents(base: str) -> None:
    client = cohere.Client(api_key="local", base_url=base)
    response = client.rerank(model="rerank-v3.5", query="the cat", documents=CATS[:4], return_documents=True)
    assert len(response.results) == 4
    assert all(r.document is not None and r.document.text == CATS[r.index] for r in response.results)


def test_cohere_client_sees_a_bad_request(base: str) -> None:
    client = cohere.ClientV2(api_key="local", base_url=base)
    with pytest.raises(cohere.BadRequestError) as bad:
        client.rerank(model="m", query="q", documents=[], top_n=1)
    assert "documents" in bad.value.body["message"]


def test_open_webui_external_reranker_byte_for_byte(base: str) -> None:
    """What Open WebUI's ExternalReranker (RAG_RERANKING_ENGINE=external) sends: requests.post(url,
    headers={Content-Type, Authorization}, json={model, query, documents, top_n: len(documents)})."""
    url = urlsplit(base)
    payload = {"model": "reranker", "query": "the cat", "documents": CATS, "top_n": len(CATS)}
    body = json.dumps(payload).encode()  # requests' json= : json.dumps defaults, ", " and ": " separators
    head = (
        f"POST /v1/rerank HTTP/1.1\r\nHost: {url.netloc}\r\nUser-Agent: python-requests/2.32.3\r\n"
        "Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer sk-open-webui\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        data = json.loads(response.read())
    # Open WebUI sorts by index and reads one relevance_score per document.
    results = sorted(data["results"], key=lambda x: x["index"])
    assert [r["index"] for r in results] == list(range(40))
    scores = [r["relevance_score"] for r in results]
    assert all(0 <= s <= 1 for s in scores) and len(set(scores)) > 1
    expected = native_scores(base, "the cat", CATS)
    assert scores == pytest.approx([expected[i] for i in range(40)], abs=1e-6)


EMBED_TEXTS = ["Qdrant is a Rust-based vector database", "n8n can call Qdrant over HTTP"]


def native_vectors(base: str, texts: list[str], **extra: object) -> np.ndarray:
    return np.array(httpx.post(f"{base}/embed", json={"texts": texts, **extra}).json()["vectors"], np.float32)


def test_cohere_sdk_embed_v1_and_v2(base: str) -> None:
    expected = native_vectors(base, EMBED_TEXTS)
    v1 = cohere.Client(api_key="local", base_url=base)
    floats = v1.embed(texts=EMBED_TEXTS, model="embed-english-v3.0", input_type="search_document")
    assert floats.response_type == "embeddings_floats"
    np.testing.assert_allclose(floats.embeddings, expected, atol=1e-6)
    typed = v1.embed(texts=EMBED_TEXTS, input_type="search_query", embedding_types=["float", "int8", "ubinary"])
    assert typed.response_type == "embeddings_by_type"
    np.testing.assert_allclose(
        typed.embeddings.float_, native_vectors(base, EMBED_TEXTS, input_type="query"), atol=1e-6
    )
    assert len(typed.embeddings.ubinary[0]) == 384 // 8 and len(typed.embeddings.int8[0]) == 384
    v2 = cohere.ClientV2(api_key="local", base_url=base)
    response = v2.embed(texts=EMBED_TEXTS, model="embed-v4.0", input_type="search_document", embedding_types=["float"])
    np.testing.assert_allclose(response.embeddings.float_, expected, atol=1e-6)
    assert response.meta is not None and response.meta.billed_units.input_tokens > 0
    with pytest.raises(cohere.BadRequestError):
        v2.embed(texts=EMBED_TEXTS, model="m", input_type="search_document", embedding_types=["nope"])  # type: ignore[list-item]
