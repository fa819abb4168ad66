"""Building the Engine from settings: choose the backend and precision, load the models (blocking)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from service.backends.auto_choice import load_models
from service.backends.selection import choose_backend
from service.config import Settings
from service.engine.engine import Engine

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(stage: str) -> None:
    logger.debug("start-up: %s", stage)


def build_engine(settings: Settings, progress: Progress = _quiet) -> Engine:
    """Load the embedding model (and reranker) once; blocking, so call it off the event loop.

    `progress` hears each stage ("loading model", "calibrating precision", ...) as it starts: the
    start-up routes report it while the port is already answering.
    """
    progress("choosing backend")
    backend, why = choose_backend(settings)
    logger.info("backend %s: %s", backend, why)
    started = time.perf_counter()
    encoder, scorer, choices = load_models(backend, settings, progress)
    engine = Engine(encoder, scorer, settings)
    engine.load_seconds = time.perf_counter() - started
    engine.choices = {"backend": f"{backend}: {why}", **choices}
    return engine
