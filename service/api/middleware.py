"""Wires the app-wide middleware once, so every route (including ones added later) inherits it."""

from __future__ import annotations

import ipaddress
import logging

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from service.api.auth import AuthMiddleware, auth_enabled
from service.api.body_guard import JsonBodyMiddleware
from service.api.limits import BodyLimitMiddleware, TimeoutMiddleware
from service.api.loop_lag import LoopLagMonitor
from service.api.metrics import Metrics, install_metrics
from service.api.observe import REQUEST_ID_HEADER, RequestContextMiddleware
from service.config import Settings
from service.engine import Engine

logger = logging.getLogger(__name__)

_EXPOSED_HEADERS = [
    REQUEST_ID_HEADER, "retry-after", "x-tokenization-time", "x-queue-time", "x-inference-time", "x-compute-tokens",
]  # fmt: skip


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost first: request context (id, access log, metrics, generic 500) → CORS → API key →
    deadline → body size → JSON-only body (gzip decoded) → the routes. Starlette runs the middleware
    added LAST first."""
    metrics = install_metrics(app) if settings.metrics_enabled else None
    app.add_middleware(JsonBodyMiddleware, max_bytes=settings.max_request_bytes, fastapi_app=app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(TimeoutMiddleware, timeout_s=settings.request_timeout_s)
    app.add_middleware(AuthMiddleware, settings=settings, fastapi_app=app)
    origins = settings.cors_origin_list
    if origins:
        # Outside auth: preflights carry no key, and a 401 needs CORS headers for the browser to read it.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "x-api-key", "content-type", REQUEST_ID_HEADER],
            expose_headers=_EXPOSED_HEADERS,
        )
    app.add_middleware(RequestContextMiddleware, fastapi_app=app, observer=metrics, access_log=settings.access_log)
    if not auth_enabled(settings) and not _is_loopback(settings.host):
        logger.warning("serving on %s without API_KEY: anyone who can reach this port can use it", settings.host)


def observe_engine(app: FastAPI, engine: Engine, loop_lag: LoopLagMonitor | None = None) -> None:
    """Hook a freshly loaded engine (and the loop-lag monitor) into the app's metrics (called by the lifespan)."""
    metrics: Metrics | None = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.bind(engine, loop_lag)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
