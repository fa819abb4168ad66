"""Running the app under uvicorn: a SIGTERM drains in-flight work and exits 0 (not 143)."""

from __future__ import annotations

import math
import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.config import Settings


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process dies with
    143; orchestrators read that as a crash. A drained SIGTERM is a clean stop: forget it."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and self._captured_signals and self._captured_signals[-1] == sig:
            self._captured_signals.pop()


def serve(app: FastAPI, settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM: stop accepting, give in-flight requests SHUTDOWN_GRACE_S to finish."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        access_log=False,  # the app logs one line per request itself, with its request id and timing
    )
    GracefulServer(config).run()
