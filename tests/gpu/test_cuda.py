"""CUDA checks (marker `gpu`, skipped without a CUDA device): bf16 by default, SDPA attention, parity with the CPU.

Run on the GPU machine by benchmarks/gpu_check.sh: `python -m pytest -m gpu tests/gpu`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.live_server import live_server

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TEXTS = ["vector database", "a much longer text about local search servers and their memory use " * 3, "qdrant"]


def _embed(base: str, texts: list[str], input_type: str = "document") -> np.ndarray:
    r = httpx.post(f"{base}/embed", json={"texts": texts, "input_type": input_type}, timeout=120)
    r.raise_for_status()
    return np.array(r.json()["vectors"], dtype=np.float64)


def _rerank(base: str) -> list[float]:
    body = {"query": "vector search", "passages": TEXTS, "top_k": 3, "use_cross_encoder": True}
    r = httpx.post(f"{base}/rerank", json=body, timeout=120)
    r.raise_for_status()
    return [x["score"] for x in sorted(r.json()["results"], key=lambda x: x["index"])]


@pytest.fixture(scope="module")
def servers(qwen3_path: Path, qwen3_reranker_path: Path) -> Iterator[dict[str, str]]:
    """The tiny Qwen3 embedder + reranker served on CUDA and on the CPU (the reference)."""
    env = {"MODEL_NAME": str(qwen3_path), "CROSS_ENCODER_MODEL": str(qwen3_reranker_path), "UI_ENABLED": "false"}
    env["EMBED_CACHE_MB"] = "0"
    with (
        live_server(env={**env, "DEVICE": "cuda", "TORCH_DTYPE": "auto"}) as cuda,
        live_server(env={**env, "DEVICE": "cpu"}) as cpu,
    ):
        yield {"cuda": cuda, "cpu": cpu}


def test_cuda_defaults_to_bf16_where_supported(servers: dict[str, str]) -> None:
    health = httpx.get(f"{servers['cuda']}/health", timeout=30).json()
    assert health["device"].startswith("cuda")
    assert health["dtype"] == ("bfloat16" if torch.cuda.is_bf16_supported() else "float16")


def test_cuda_vectors_match_the_cpu_fp32_ones(servers: dict[str, str]) -> None:
    for input_type in ("query", "document"):
        gpu, cpu = _embed(servers["cuda"], TEXTS, input_type), _embed(servers["cpu"], TEXTS, input_type)
        assert np.sum(gpu * cpu, axis=1).min() > 0.99


def test_cuda_batched_equals_single_with_left_padding(servers: dict[str, str]) -> None:
    batched = _embed(servers["cuda"], TEXTS)
    single = np.vstack([_embed(servers["cuda"], [text]) for text in TEXTS])
    assert np.sum(batched * single, axis=1).min() > 0.995


def test_cuda_reranker_scores_match_the_cpu(servers: dict[str, str]) -> None:
    gpu, cpu = _rerank(servers["cuda"]), _rerank(servers["cpu"])
    assert np.allclose(gpu, cpu, atol=0.05), (gpu, cpu)  # bf16 on the CPU: up to 0.021 off (measured)


def _hf_models(root: Any, depth: int = 8) -> list[Any]:
    """Every transformers PreTrainedModel reachable from `root` through the attributes of embedrank's and
    sentence-transformers' own objects and plain containers (whatever the backends' layout is)."""
    from transformers import PreTrainedModel

    found, seen, frontier = [], set(), [root]
    for _ in range(depth):
        next_frontier: list[Any] = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, PreTrainedModel):
                found.append(obj)
            elif type(obj) is dict:
                next_frontier += list(obj.values())
            elif type(obj) in (list, tuple):
                next_frontier += list(obj)
            elif type(obj).__module__.startswith(("service.", "sentence_transformers.")) and hasattr(obj, "__dict__"):
                next_frontier += list(vars(obj).values())
        frontier = next_frontier
    return found


def test_cuda_models_run_torch_sdpa_attention(qwen3_path: Path, qwen3_reranker_path: Path) -> None:
    from service.config import Settings
    from service.engine.build import build_engine

    settings = Settings(
        model_name=str(qwen3_path),
        cross_encoder_model=str(qwen3_reranker_path),
        device="cuda",
        ui_enabled=False,
        torch_dtype="auto",
    )

    async def models() -> list[Any]:
        engine = build_engine(settings)
        await engine.start()
        try:
            return _hf_models(engine)
        finally:
            await engine.stop()

    found = asyncio.run(models())
    assert len(found) >= 2, "expected the embedder's and the reranker's transformers models"
    for model in found:
        assert model.config._attn_implementation == "sdpa", type(model).__name__
        assert next(model.parameters()).is_cuda
