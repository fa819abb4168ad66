"""Running the app under uvicorn: bound before anything loads, connection limits, the Host check on loopback,
SIGTERM drains and exits 0."""

from __future__ import annotations

import logging
import math
import signal
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from service.api.hosts import HostGuardMiddleware, is_loopback
from service.bind import bind_socket
from service.config import Settings
from service.connections import guarded_protocol

logger = logging.getLogger(__name__)


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


def serve(app: FastAPI, settings: Settings, sock: socket.socket | None = None) -> int:
    """Serve until SIGINT/SIGTERM: stop accepting, give in-flight requests SHUTDOWN_GRACE_S to finish.

    Returns the exit status: 0 after a clean stop, 1 when the model failed to load (the process
    ends at once then, as it did when loading came before binding).
    """
    sock = sock or bind_socket(settings.host, settings.port)
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
    server = GracefulServer(config)
    startup = getattr(app.state, "startup", None)
    if startup is not None:

        def stop_after_failure(_: BaseException) -> None:
            server.should_exit = True

        startup.on_failure = stop_after_failure
    server.run(sockets=[sock])
    return 1 if startup is not None and startup.failed else 0
