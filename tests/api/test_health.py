"""/health and /ready under faults: NaN weights, a backend that keeps failing, a dead inference worker."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.engine import Engine
from tests.conftest import AppClient


@pytest.fixture(scope="module")
def nan_model_path(qwen3_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen3 embedder with its final norm set to NaN: every vector it makes is NaN."""
    import torch
    from safetensors.torch import load_file, save_file

    path = tmp_path_factory.mktemp("qwen3-nan")
    shutil.copytree(qwen3_path, path, dirs_exist_ok=True)
    weights = load_file(path / "model.safetensors")
    weights["norm.weight"] = torch.full_like(weights["norm.weight"], float("nan"))
    save_file(weights, path / "model.safetensors", metadata={"format": "pt"})
    return path


@contextmanager
def broken_final_norm(engine: Engine) -> Iterator[None]:
    """Give the loaded model a final norm of the wrong shape: every forward pass really raises."""
    import torch

    norms = [
        module
        for stage in engine.encoder._modules  # type: ignore[attr-defined]
        for name, module in stage.named_modules()
        if name.endswith("norm") and ".layers." not in f".{name}."
    ]
    norm = norms[-1]
    weight = norm.weight
    norm.weight = torch.nn.Parameter(torch.ones(3))
    try:
        yield
    finally:
        norm.weight = weight


async def test_nan_output_is_an_error_never_a_vector(app_client: AppClient, nan_model_path: Path) -> None:
    async with app_client(model_name=str(nan_model_path), warmup=False, ui_enabled=False) as client:
        r = await client.post("/embed", json={"texts": ["nan please"]})
        assert r.status_code == 500 and r.json()["type"] == "model_error"
        assert "non-finite" in r.json()["detail"] and "vectors" not in r.json()
        r = await client.post("/v1/embeddings", json={"input": "nan please", "model": "m"})
        assert r.status_code == 500 and "data" not in r.json()
        r = await client.post("/rerank", json={"query": "q", "passages": ["a", "b"], "use_cross_encoder": False})
        assert r.status_code == 500 and "results" not in r.json()
        assert (await client.get("/health")).status_code == 200  # the model answers: a bad model, not a dead one


async def test_repeated_backend_failures_turn_health_red_until_a_batch_succeeds(
    app_client: AppClient, qwen3_path: Path
) -> None:
    async with app_client(model_name=str(qwen3_path), unhealthy_after_failures=3, ui_enabled=False) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        with broken_final_norm(engine):
            for attempt in range(3):
                assert (await client.get("/health")).status_code == 200, attempt
                r = await client.post("/embed", json={"texts": [f"fails {attempt}"]})
                assert r.status_code == 500 and r.json()["detail"] == "inference failed"  # nothing internal leaks
            health = await client.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "unhealthy"
            assert "last 3 embed batches failed" in health.json()["problems"][0]
            assert (await client.get("/ready")).status_code == 200  # loaded; health is the liveness signal
            metrics = (await client.get("/metrics")).text
            assert 'embedrank_batch_failures_total{batcher="embed"} 3.0' in metrics
            assert "embedrank_healthy 0.0" in metrics
        assert (await client.post("/embed", json={"texts": ["works again"]})).status_code == 200
        health = await client.get("/health")
        assert health.status_code == 200 and health.json() | {"status": "ok", "problems": []} == health.json()


async def test_a_dead_inference_worker_is_unhealthy_and_fails_fast(app_client: AppClient, qwen3_path: Path) -> None:
    async with app_client(model_name=str(qwen3_path), request_timeout_s=5, ui_enabled=False) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        task = engine.embed_batcher._task  # type: ignore[attr-defined]
        assert task is not None
        task.cancel()  # the collector ends, as it would after a bug inside it
        await asyncio.gather(task, return_exceptions=True)
        health = await client.get("/health")
        assert health.status_code == 503 and "embed inference worker has stopped" in health.json()["problems"][0]
        r = await asyncio.wait_for(client.post("/embed", json={"texts": ["x"]}), 2)  # no hang until the deadline
        assert r.status_code == 500 and "not running" in r.json()["detail"]


async def test_health_is_alive_and_ready_503_with_the_stage_until_the_model_is_warm(qwen3_path: Path) -> None:
    from service.app import create_app
    from service.config import Settings

    app = create_app(Settings(model_name=str(qwen3_path), ui_enabled=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://embedrank.test") as client:
            # The lifespan returned at once; the model loads on its own thread meanwhile.
            ready, health = await client.get("/ready"), await client.get("/health")
            assert ready.status_code == 503 and ready.headers["retry-after"] == "1"
            assert ready.json()["status"] == "loading" and ready.json()["stage"] != "ready"
            assert health.status_code == 200 and health.json()["status"] == "loading"
            tei = await client.post("/embed", json={"inputs": "x"})
            assert tei.status_code == 503 and "still loading" in tei.text
            await app.state.startup.wait()
            assert (await client.get("/ready")).json() == {"status": "ready"}
            health = await client.get("/health")
            body = health.json()
            assert health.status_code == 200 and body["status"] == "ok" and body["stage"] == "ready"
            assert body["choices"]["embedding_dtype"] == "TORCH_DTYPE=float32 was set: float32"
            assert body["choices"]["backend"].startswith("torch: BACKEND=auto")
