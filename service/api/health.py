"""Cheap status routes: /health (what is loaded, counters) and /ready (503 until warmed up)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service import __version__
from service.api.responses import FastJSONResponse
from service.api.state import engine_of
from service.schemas.native import HealthResponse

router = APIRouter(tags=["status"])


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="What is loaded; no inference. 503 + status 'unhealthy' when the inference worker is dead or failing",
    responses={503: {"description": "loading, stopping, or unhealthy (see `problems`)"}},
)
async def health(request: Request) -> Response:
    engine = engine_of(request)
    info = engine.info
    problems = engine.health()
    content = {
        "status": "unhealthy" if problems else "ok",
        "problems": problems,
        "model": info.name,
        "backend": info.backend,
        "device": info.device,
        "dim": info.dim,
        "max_tokens": info.max_tokens,
        "dtype": info.dtype,
        "family": info.family.name,
        "cross_encoder": engine.scorer.info.name if engine.scorer else None,
        "version": __version__,
        "stats": {**engine.stats(), "event_loop_lag_s": _loop_lag(request)},
    }
    return FastJSONResponse(content, status_code=503 if problems else 200)


@router.get("/ready", summary="200 once the model is loaded and warmed up, else 503")
async def ready(request: Request) -> Response:
    engine_of(request)
    return FastJSONResponse({"status": "ready"})


def _loop_lag(request: Request) -> float | None:
    monitor = getattr(request.app.state, "loop_lag", None)
    return round(monitor.recent_max, 4) if monitor is not None else None
