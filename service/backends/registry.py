"""Backend registry: names → lazy "module:factory" strings, so heavy imports happen only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from service.backends.base import Encoder, Scorer
from service.config import Settings

ENCODERS: dict[str, str] = {
    "torch": "service.backends.torch.encoder:load_encoder",
    "mlx": "service.backends.mlx.encoder:load_encoder",
    "onnx": "service.backends.onnx.encoder:load_encoder",
}

# Keys: "<backend>" for classic (sentence-transformers) cross-encoders, "<backend>:<reranker family>"
# for causal-LM rerankers. A backend without its own entry falls back to torch's.
SCORERS: dict[str, str] = {
    "torch": "service.backends.torch.cross_encoder:load_scorer",
    "torch:qwen3-reranker": "service.backends.torch.qwen3_reranker:load_scorer",
    "mlx:qwen3-reranker": "service.backends.mlx.qwen3_reranker:load_scorer",
    "onnx": "service.backends.onnx.cross_encoder:load_scorer",
}


def _resolve(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    return cast(Callable[..., Any], getattr(importlib.import_module(module_name), attr))


def load_encoder(backend: str, settings: Settings) -> Encoder:
    """Build the embedding backend registered under `backend`."""
    if backend not in ENCODERS:
        raise RuntimeError(f"unknown backend {backend!r}; choose one of {sorted(ENCODERS)}")
    return cast(Encoder, _resolve(ENCODERS[backend])(settings))


def load_scorer(backend: str, settings: Settings) -> Scorer | None:
    """Build the reranker named by CROSS_ENCODER_MODEL, or None when none is configured."""
    if not settings.cross_encoder_model:
        return None
    return cast(Scorer, _resolve(scorer_target(backend, settings.cross_encoder_model))(settings))


def scorer_target(backend: str, cross_encoder_model: str) -> str:
    """The factory for this reranker on this backend: its family's entry, else the classic cross-encoder's."""
    from service.backends.model_config import reranker_family_of

    family = reranker_family_of(cross_encoder_model)
    keys = [f"{backend}:{family.name}", f"torch:{family.name}"] if family else [backend, "torch"]
    return next(SCORERS[key] for key in keys if key in SCORERS)
