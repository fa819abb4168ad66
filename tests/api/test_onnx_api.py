"""BACKEND=onnx through the real app and a real server: same vectors and rankings as torch."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import AppClient
from tests.live_server import live_server

TEXTS = ["What is RAG?", "Qdrant is a vector database", "A man is eating food.", "A man is eating a piece of bread."]
PASSAGES = ["the cat eats food and bread", "gpu memory", "a dog is a dog", "qdrant vector database search"]


async def test_embed_and_rerank_match_torch(
    app_client: AppClient, minilm: httpx.AsyncClient, cross_encoder_path: Path, onnx_cache_dir: Path
) -> None:
    async with app_client(
        backend="onnx", onnx_cache_dir=str(onnx_cache_dir), cross_encoder_model=str(cross_encoder_path)
    ) as onnx_client:
        health = (await onnx_client.get("/health")).json()
        assert health["backend"] == "onnx" and health["device"] == "cpu"
        r = await onnx_client.post("/embed", json={"texts": TEXTS})
        assert r.status_code == 200
        body = r.json()
        assert body["backend"] == "onnx:sentence-transformers/all-MiniLM-L6-v2" and body["dim"] == 384
        ours = np.array(body["vectors"])
        reference = np.array((await minilm.post("/embed", json={"texts": TEXTS})).json()["vectors"])
        assert np.min(np.sum(ours * reference, axis=1)) >= 0.9999  # both unit vectors
        assert ours[2] @ ours[3] == pytest.approx(0.755, abs=0.005)

        r = await onnx_client.post(
            "/rerank", json={"query": "the cat", "passages": PASSAGES, "use_cross_encoder": True}
        )
        assert r.status_code == 200 and r.json()["method"] == "cross-encoder"
        order = [item["index"] for item in r.json()["results"]]
    async with app_client(cross_encoder_model=str(cross_encoder_path)) as torch_client:
        r = await torch_client.post(
            "/rerank", json={"query": "the cat", "passages": PASSAGES, "use_cross_encoder": True}
        )
        assert order == [item["index"] for item in r.json()["results"]]


@pytest.mark.slow
def test_live_server_with_int8(onnx_cache_dir: Path) -> None:
    env = {"BACKEND": "onnx", "ONNX_QUANTIZE": "int8", "ONNX_CACHE_DIR": str(onnx_cache_dir), "UI_ENABLED": "false"}
    with live_server(env=env) as base:
        health = httpx.get(f"{base}/health").json()
        assert health["backend"] == "onnx" and health["dtype"] == "int8"
        r = httpx.post(f"{base}/embed", json={"texts": TEXTS[2:]}, timeout=30)
        unit = np.array(r.json()["vectors"])
        assert unit[0] @ unit[1] == pytest.approx(0.755, abs=0.02)
