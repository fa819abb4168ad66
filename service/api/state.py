"""Access to the per-app Engine stored by the lifespan (no module-level model globals)."""

from __future__ import annotations

from fastapi import Request

from service.engine import Engine
from service.errors import NotReady


def engine_of(request: Request) -> Engine:
    """The app's Engine, or 503 while it is still loading or already stopping."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None or not engine.ready:
        raise NotReady("the model is still loading; retry shortly")
    return engine
