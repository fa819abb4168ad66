"""Running the app under uvicorn: connection limits, the Host check on loopback, SIGTERM drains and exits 0."""

from __future__ import annotations

import math
import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from service.api.hosts import HostGuardMiddleware, is_loopback
from service.config import Settings
from service.connections import guarded_protocol


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process dies with
    143; orchestrators read that as a crash. A drained SIGTERM is a clean stop: forget it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and self._captured_signals and self._captured_signals[-1] == sig:
            self._captured_signals.pop()


def served_app(app: FastAPI, settings: Settings) -> ASGIApp:
    """The app as the listener serves it: behind the Host check when bound to loopback or ALLOWED_HOSTS is set.

    Only here, where the real bind address is known: in-process test transports and Ray Serve's
    proxy send their own Host names and never listen on this address."""
    if is_loopback(settings.host) or settings.allowed_host_list:
        return HostGuardMiddleware(app, allowed_hosts=settings.allowed_host_list)
    return app


def serve(app: FastAPI, settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM: stop accepting, give in-flight requests SHUTDOWN_GRACE_S to finish."""
    config = uvicorn.Config(
        served_app(app, settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        access_log=False,  # the app logs one line per request itself, with its request id and timing
        http=guarded_protocol(settings.header_timeout_s, settings.max_connections),
        timeout_keep_alive=max(1, math.ceil(settings.keep_alive_timeout_s)),
    )
    GracefulServer(config).run()
