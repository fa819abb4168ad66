"""Access to the per-app Engine stored by the lifespan (no module-level model globals)."""

from __future__ import annotations

from fastapi import Request

from service.engine import Engine
from service.errors import NotReady


def engine_of(request: Request) -> Engine:
    """The app's Engine, or 503 while it is still loading or already stopping."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None or not engine.ready:
        raise NotReady(not_ready_reason(request))
    return engine


def not_ready_reason(request: Request) -> str:
    """Why no model can answer yet: the start-up stage, a failed load, or shutdown."""
    startup = getattr(request.app.state, "startup", None)
    stage = startup.stage if startup is not None else "starting"
    if stage == "failed":
        return "the model failed to load; see the server log"
    if stage == "stopping" or getattr(request.app.state, "engine", None) is not None:
        return "the service is shutting down"
    return f"the model is still loading ({stage}); retry shortly"
