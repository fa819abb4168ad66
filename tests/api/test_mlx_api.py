"""The real app with BACKEND=mlx: /embed (prompts, Matryoshka) and /rerank with a Qwen3-Reranker, equal to torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import AppClient, requires_mlx

pytestmark = requires_mlx

TEXTS = ["qdrant is a vector database", "the cat eats food", "a"]
QUERY = "which database stores vectors"
PASSAGES = ["qdrant is a rust vector database", "the dog eats bread", "gpu memory on a mac", "vector search is fast"]


async def exchange(client: httpx.AsyncClient) -> dict[str, Any]:
    """The same requests against either backend."""
    out: dict[str, Any] = {"health": (await client.get("/health")).json()}
    docs = await client.post("/embed", json={"texts": TEXTS})
    assert docs.status_code == 200, docs.text
    out["docs"] = docs.json()
    out["query"] = (await client.post("/embed", json={"texts": [QUERY], "input_type": "query"})).json()
    out["query_as_doc"] = (await client.post("/embed", json={"texts": [QUERY]})).json()
    out["raw"] = (await client.post("/embed", json={"texts": TEXTS, "normalize": False})).json()
    out["cut"] = (await client.post("/embed", json={"texts": TEXTS, "dimensions": 16})).json()
    rerank = {"query": QUERY, "passages": PASSAGES, "use_cross_encoder": True}
    out["rerank"] = (await client.post("/rerank", json=rerank)).json()
    out["rerank_task"] = (await client.post("/rerank", json={**rerank, "instruction": "Find animals"})).json()
    out["bi"] = (await client.post("/rerank", json={**rerank, "use_cross_encoder": False, "top_k": 2})).json()
    return out


def scores_by_index(body: dict[str, Any]) -> np.ndarray:
    return np.array([item["score"] for item in sorted(body["results"], key=lambda item: item["index"])])


async def test_mlx_backend_serves_the_api_like_torch(
    app_client: AppClient,
    qwen3_mlx_path: Path,
    qwen3_path: Path,
    qwen3_reranker_mlx_path: Path,
    qwen3_reranker_path: Path,
) -> None:
    async with app_client(
        backend="mlx", model_name=str(qwen3_mlx_path), cross_encoder_model=str(qwen3_reranker_mlx_path)
    ) as client:
        mlx = await exchange(client)
    async with app_client(
        backend="torch", model_name=str(qwen3_path), cross_encoder_model=str(qwen3_reranker_path)
    ) as client:
        torch = await exchange(client)

    health = mlx["health"]
    assert (health["backend"], health["device"], health["family"]) == ("mlx", "cpu", "qwen3-embedding")
    assert health["cross_encoder"] == str(qwen3_reranker_mlx_path)
    assert mlx["docs"]["backend"] == f"mlx:{qwen3_mlx_path}" and mlx["docs"]["device"] == "cpu"
    assert torch["docs"]["backend"] == f"torch:{qwen3_path}"

    for key in ("docs", "query", "raw"):
        np.testing.assert_allclose(mlx[key]["vectors"], torch[key]["vectors"], atol=1e-4)
    assert not np.allclose(mlx["query"]["vectors"], mlx["query_as_doc"]["vectors"], atol=1e-2), "query instruction"
    raw = np.array(mlx["raw"]["vectors"])
    cut = np.array(mlx["cut"]["vectors"])
    assert mlx["cut"]["dim"] == 16
    np.testing.assert_allclose(cut, raw[:, :16] / np.linalg.norm(raw[:, :16], axis=1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(cut, torch["cut"]["vectors"], atol=1e-4)

    for key in ("rerank", "rerank_task"):
        assert mlx[key]["method"] == "cross-encoder" and mlx[key]["backend"] == f"mlx:{qwen3_mlx_path}"
        assert [r["index"] for r in mlx[key]["results"]] == [r["index"] for r in torch[key]["results"]]
        np.testing.assert_allclose(scores_by_index(mlx[key]), scores_by_index(torch[key]), atol=1e-4)
        assert all(0 < r["score"] < 1 for r in mlx[key]["results"])
    assert not np.allclose(scores_by_index(mlx["rerank"]), scores_by_index(mlx["rerank_task"]), atol=1e-4), (
        "the request's instruction reaches the reranker prompt"
    )
    assert mlx["bi"]["method"] == "bi-encoder" and len(mlx["bi"]["results"]) == 2
    assert [r["index"] for r in mlx["bi"]["results"]] == [r["index"] for r in torch["bi"]["results"]]


async def test_auto_on_this_linux_machine_is_torch(app_client: AppClient, qwen3_path: Path) -> None:
    async with app_client(model_name=str(qwen3_path)) as client:
        health = (await client.get("/health")).json()
    assert health["backend"] == "torch"


async def test_explicit_mlx_without_a_decoder_model_fails_at_start_up(app_client: AppClient) -> None:
    with pytest.raises(RuntimeError, match="BACKEND=mlx cannot serve this model"):
        async with app_client(backend="mlx"):
            pass
