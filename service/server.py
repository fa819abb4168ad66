"""Running the app under uvicorn: the port is bound before anything loads; SIGTERM drains and exits 0."""

from __future__ import annotations

import errno
import logging
import math
import signal
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.config import Settings

logger = logging.getLogger(__name__)


class PortInUse(RuntimeError):
    """The configured host:port cannot be bound; said before any model is loaded."""


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process dies with
    143; orchestrators read that as a crash. A drained SIGTERM is a clean stop: forget it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and self._captured_signals and self._captured_signals[-1] == sig:
            self._captured_signals.pop()


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound now (milliseconds after start, before the model loads).

    A port in use is a PortInUse with a sentence that says what to do, not a traceback after a load.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn does: restarts reuse TIME_WAIT ports
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use (another embedrank or another server?): stop it, "
                "or choose another port with --port / PORT"
            ) from exc
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse now when host:port is taken (for servers that bind it themselves later, e.g. Ray's proxy)."""
    bind_socket(host, port).close()


def serve(app: FastAPI, settings: Settings, sock: socket.socket | None = None) -> int:
    """Serve until SIGINT/SIGTERM: stop accepting, give in-flight requests SHUTDOWN_GRACE_S to finish.

    Returns the exit status: 0 after a clean stop, 1 when the model failed to load (the process
    ends at once then, as it did when loading came before binding).
    """
    sock = sock or bind_socket(settings.host, settings.port)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        access_log=False,  # the app logs one line per request itself, with its request id and timing
    )
    server = GracefulServer(config)
    startup = getattr(app.state, "startup", None)
    if startup is not None:

        def stop_after_failure(_: BaseException) -> None:
            server.should_exit = True

        startup.on_failure = stop_after_failure
    server.run(sockets=[sock])
    return 1 if startup is not None and startup.failed else 0
