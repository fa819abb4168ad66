"""Cheap status routes: /health (alive; what is loaded, or the loading stage) and /ready (503 until warmed up)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from service import __version__
from service.api.responses import FastJSONResponse
from service.api.state import not_ready_reason
from service.engine import Engine
from service.schemas.native import HealthResponse

router = APIRouter(tags=["status"])


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Liveness, no inference: 200 while loading (with the stage) and when ok; 503 when unhealthy or failed",
    responses={503: {"description": "the model failed to load, or the inference worker is dead or failing"}},
)
async def health(request: Request) -> Response:
    engine: Engine | None = getattr(request.app.state, "engine", None)
    startup = getattr(request.app.state, "startup", None)
    if engine is None:
        return _loading_health(request, startup)
    info = engine.info
    problems = engine.health()
    content = {
        "status": "unhealthy" if problems else "ok",
        "problems": problems,
        "stage": startup.stage if startup is not None else "ready",
        "model": info.name,
        "backend": info.backend,
        "device": info.device,
        "dim": info.dim,
        "max_tokens": info.max_tokens,
        "dtype": info.dtype,
        "family": info.family.name,
        "cross_encoder": engine.scorer.info.name if engine.scorer else None,
        "choices": getattr(engine, "choices", {}),
        "console": _console_state(request),
        "version": __version__,
        "stats": {**engine.stats(), "event_loop_lag_s": _loop_lag(request)},
    }
    return FastJSONResponse(content, status_code=503 if problems else 200)


def _loading_health(request: Request, startup: Any) -> Response:
    """Alive while the model loads (200: an orchestrator must not restart it); 503 once loading failed."""
    failed = startup is not None and startup.failed
    settings = request.app.state.settings
    content = {
        "status": "failed" if failed else "loading",
        "problems": [f"start-up failed: {startup.error}"] if failed else [],
        "stage": startup.stage if startup is not None else "starting",
        "model": settings.model_name or "sentence-transformers/all-MiniLM-L6-v2",
        "seconds_since_start": round(time.monotonic() - startup.began, 2) if startup is not None else None,
        "version": __version__,
    }
    return FastJSONResponse(content, status_code=503 if failed else 200)


@router.get(
    "/ready",
    summary="200 once the model is loaded and warmed up; 503 with the stage while loading, after a failure, stopping",
    responses={503: {"description": "not ready: `stage` says why (loading model, warming up, calibrating, ...)"}},
)
async def ready(request: Request) -> Response:
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is not None and engine.ready:
        return FastJSONResponse({"status": "ready"})
    startup = getattr(request.app.state, "startup", None)
    stage = startup.stage if startup is not None else "starting"
    status = {"failed": "failed", "stopping": "stopping"}.get(stage, "loading")
    content = {"status": status, "stage": stage, "detail": not_ready_reason(request), "type": "unavailable"}
    return FastJSONResponse(content, status_code=503, headers={"Retry-After": "1"})


def _console_state(request: Request) -> str | None:
    """The console at /ui: idle (built on first visit), building, built, failed; None when not mounted."""
    console = getattr(request.app.state, "console_loader", None)
    return str(console.state) if console is not None else None


def _loop_lag(request: Request) -> float | None:
    monitor = getattr(request.app.state, "loop_lag", None)
    return round(monitor.recent_max, 4) if monitor is not None else None
