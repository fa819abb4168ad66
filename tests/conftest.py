"""Shared fixtures: tiny offline models, the real MiniLM, and apps run with their lifespan."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Tests compare vectors with float32 references: TORCH_DTYPE=auto (a start-up calibration that may pick
# bfloat16 on this CPU) is tested on its own (tests/backends/test_auto_choice.py, tests/test_startup.py).
os.environ.setdefault("TORCH_DTYPE", "float32")
# BACKEND=auto takes ONNX when the model has an export in the cache and it measures faster: an export a
# benchmark or an earlier run left in ~/.cache would change which backend every test gets. Tests start
# from an empty cache, as on a fresh machine; the ONNX tests pass their own (`onnx_cache_dir`).
os.environ.setdefault("ONNX_CACHE_DIR", tempfile.mkdtemp(prefix="embedrank-test-onnx-"))
# Likewise calibration verdicts kept in ~/.cache: every test start measures (the cache has its own tests).
os.environ.setdefault("CALIBRATION_CACHE", "off")

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.config import Settings
from tests.tiny_models import build_bert_cross_encoder, build_qwen3_embedding, build_qwen3_reranker


@pytest.fixture(scope="session")
def qwen3_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny Qwen3 embedding model whose tokenizer appends EOS itself (like the official one)."""
    return build_qwen3_embedding(tmp_path_factory.mktemp("qwen3-emb"))


@pytest.fixture(scope="session")
def qwen3_bare_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same weights, tokenizer WITHOUT an EOS post-processor: the backend must append EOS."""
    return build_qwen3_embedding(tmp_path_factory.mktemp("qwen3-bare"), append_eos=False)


@pytest.fixture(scope="session")
def cross_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bert_cross_encoder(tmp_path_factory.mktemp("bert-ce"))


@pytest.fixture(scope="session")
def onnx_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache for the whole run: each model is exported once (seconds), then reused."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def qwen3_reranker_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_qwen3_reranker(tmp_path_factory.mktemp("qwen3-rr"))


def mlx_usable() -> bool:
    """mlx imports (its native library loads: plain `mlx` on Linux lacks it) and mlx-lm is installed."""
    try:
        import mlx.core  # noqa: F401
        import mlx_lm  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


requires_mlx = pytest.mark.skipif(not mlx_usable(), reason="needs the mlx extra: pip install -e '.[mlx]'")


@pytest.fixture(scope="session")
def qwen3_mlx_path(qwen3_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen3 embedder converted to MLX format (float32) by `embedrank convert-mlx`."""
    from service.backends.mlx.convert import convert_to_mlx

    return convert_to_mlx(str(qwen3_path), tmp_path_factory.mktemp("qwen3-mlx") / "model")


@pytest.fixture(scope="session")
def qwen3_reranker_mlx_path(qwen3_reranker_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen3-Reranker converted to MLX format by mlx-lm's own `mlx_lm.convert`."""
    from mlx_lm import convert

    destination = tmp_path_factory.mktemp("qwen3-rr-mlx") / "model"
    convert(str(qwen3_reranker_path), str(destination))
    return destination


AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def app_client() -> AppClient:
    """`async with app_client(MODEL_NAME=...) as client:` runs the real app, lifespan included."""

    @asynccontextmanager
    async def open_client(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(**{k.lower(): v for k, v in overrides.items()})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await app.state.startup.wait()  # the lifespan only starts loading (bind first, load after)
            console = getattr(app.state, "console_loader", None)
            if console is not None:  # built on the first visit to /ui in a server; tests use it at once
                await console.ensure_built()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://embedrank.test") as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return open_client


@pytest.fixture(scope="session")
async def minilm(app_client: AppClient) -> AsyncIterator[httpx.AsyncClient]:
    """One app on the embedded MiniLM, shared by API tests that do not change settings."""
    async with app_client() as client:
        yield client
