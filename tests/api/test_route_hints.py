"""A new user's near-miss paths and methods get the route they meant, in the dialect of that path."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    "method, path, says",
    [
        ("POST", "/v1/embedding", "Did you mean POST /v1/embeddings?"),
        ("POST", "/api/embed", "Did you mean POST /embed?"),
        ("POST", "/embedding", "Did you mean POST /embeddings?"),
        ("POST", "/v1/rerankings", "Did you mean POST /v1/rerank?"),
        ("POST", "/v2/embeddings", "Did you mean POST /v2/embed?"),
        ("GET", "/embed", "/embed takes POST, not GET"),
        ("POST", "/health", "/health takes GET, not POST"),
        ("POST", "/completely/else", "See /docs"),
    ],
)
async def test_near_misses_name_the_route(minilm: httpx.AsyncClient, method: str, path: str, says: str) -> None:
    r = await minilm.request(method, path, json={"input": "x"})
    assert r.status_code in (404, 405), r.text
    body = r.json()
    text = body["error"]["message"] if isinstance(body.get("error"), dict) else body.get("message") or body["detail"]
    assert says in text, text


async def test_the_routes_users_tried_now_exist(minilm: httpx.AsyncClient) -> None:
    assert (await minilm.post("/embeddings", json={"input": "hi"})).status_code == 200
    assert (await minilm.get("/models")).json()["data"][0]["id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (await minilm.post("/v1/embed", json={"texts": ["hi"]})).status_code == 200


async def test_health_lists_what_the_readme_says(minilm: httpx.AsyncClient) -> None:
    health = (await minilm.get("/health")).json()
    assert health["backend"] == "torch" and health["family"] == "encoder" and health["dtype"] == "float32"
    assert {"status", "problems", "model", "device", "dim", "max_tokens", "cross_encoder", "version", "stats"} <= set(
        health
    )
