"""Backend registry: names → lazy "module:factory" strings, so heavy imports happen only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from service.backends.base import Encoder, Scorer
from service.config import Settings

ENCODERS: dict[str, str] = {
    "torch": "service.backends.torch_encoder:load_encoder",
}

SCORERS: dict[str, str] = {
    "torch": "service.backends.torch_cross_encoder:load_scorer",
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
    target = SCORERS.get(backend, SCORERS["torch"])
    return cast(Scorer, _resolve(target)(settings))
