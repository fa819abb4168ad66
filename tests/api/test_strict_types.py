"""Strict request types in every dialect: a boolean is not an integer, a string is not a number or a boolean."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

CASES: list[tuple[str, dict[str, Any], str]] = [
    # the probe's cases
    ("/rerank", {"query": "q", "passages": ["a", "b"], "top_k": True}, "top_k"),
    ("/embed", {"texts": ["a"], "dimensions": True}, "dimensions"),
    ("/embed", {"texts": ["a"], "dimensions": "8"}, "dimensions"),
    ("/embed", {"texts": ["a"], "normalize": "no"}, "normalize"),
    # the same mistakes in the other dialects
    ("/embed", {"texts": ["a"], "truncate": 1}, "truncate"),
    ("/embed", {"texts": ["a"], "batch_size": 32.5}, "batch_size"),
    ("/rerank", {"query": "q", "passages": ["a"], "use_cross_encoder": "false"}, "use_cross_encoder"),
    ("/v1/embeddings", {"input": "a", "dimensions": True}, "dimensions"),
    ("/v1/embeddings", {"input": "a", "dimensions": "8"}, "dimensions"),
    ("/v1/rerank", {"query": "q", "documents": ["a"], "top_n": True}, "top_n"),
    ("/v2/rerank", {"query": "q", "documents": ["a"], "return_documents": "yes"}, "return_documents"),
    ("/embed", {"inputs": "a", "normalize": 0}, "normalize"),
    ("/embed", {"inputs": "a", "dimensions": False}, "dimensions"),
    ("/rerank", {"query": "q", "texts": ["a"], "raw_scores": "true"}, "raw_scores"),
    ("/rerank", {"query": "q", "texts": ["a"], "return_text": 1}, "return_text"),
]


@pytest.mark.parametrize(("path", "body", "field"), CASES, ids=[f"{p} {f}" for p, _, f in CASES])
async def test_loose_types_are_refused_naming_the_field(
    minilm: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    r = await minilm.post(path, json=body)
    assert r.status_code in (400, 422), (r.status_code, r.text)
    assert field in r.text, r.text


async def test_proper_types_still_work(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", json={"texts": ["a"], "dimensions": 8, "normalize": False, "truncate": True})
    assert r.status_code == 200 and r.json()["dim"] == 8
    r = await minilm.post("/rerank", json={"query": "q", "passages": ["a", "b"], "top_k": 1})
    assert r.status_code == 200 and len(r.json()["results"]) == 1
    r = await minilm.post("/v1/rerank", json={"query": "q", "documents": [{"text": "a", "id": 7}], "top_n": 1})
    assert r.status_code == 200
