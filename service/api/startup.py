"""Bind first, load after: the model loads in the background while /health and /ready report its stage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI

from service.api.loop_lag import LoopLagMonitor
from service.api.middleware import observe_engine
from service.config import Settings
from service.engine import Engine

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Startup:
    """Where the app is in its start-up: a stage while loading, then ready, or the error that ended it.

    Stored on `app.state.startup`. `on_failure` is how the server hosting the app learns that the
    model could not load (the process should exit non-zero, as it did when loading blocked the bind).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stage = "starting"
        self.error: BaseException | None = None
        self.began = time.monotonic()
        self.ready_after_s: float | None = None
        self.on_failure: Callable[[BaseException], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._done: asyncio.Event | None = None
        self._app: FastAPI | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def set_stage(self, stage: str) -> None:
        """Called from the loading thread too: one attribute write, read by the routes."""
        self.stage = stage
        logger.info("start-up: %s", stage)

    def begin(self, app: FastAPI) -> None:
        """Start loading in the background (inside the lifespan, on the serving loop)."""
        self._app = app
        self._done = asyncio.Event()
        self._task = asyncio.create_task(self._load(app), name="model-load")

    async def wait(self) -> Engine:
        """Until the engine is ready (tests, in-process users); raises the error that stopped the load."""
        assert self._done is not None and self._app is not None, "the app's lifespan has not started"
        await self._done.wait()
        if self.error is not None:
            raise self.error
        engine: Engine = self._app.state.engine
        return engine

    async def _load(self, app: FastAPI) -> None:
        from service.engine.build import build_engine

        try:
            engine = await run_in_daemon_thread(build_engine, self.settings, self.set_stage)
            self.set_stage("warming up")
            await engine.start()
            loop_lag = LoopLagMonitor()  # from here on: the model load's GIL-heavy imports are not serving lag
            loop_lag.start()
            app.state.loop_lag = loop_lag
            app.state.engine = engine
            observe_engine(app, engine, loop_lag)
            self.ready_after_s = time.monotonic() - self.began
            self.stage = "ready"
            logger.info(
                "ready: %s on %s/%s (%s), model loaded in %.1fs, ready %.1fs after start",
                engine.info.name, engine.info.backend, engine.info.device, engine.info.dtype,
                engine.load_seconds, self.ready_after_s,
            )  # fmt: skip
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # any load error ends start-up, and is reported
            logger.error("start-up failed while %s: %s", self.stage, exc, exc_info=exc)
            self.error = exc
            self.stage = "failed"
            if self.on_failure is not None:
                self.on_failure(exc)
        finally:
            assert self._done is not None
            self._done.set()

    async def stop(self, grace_s: float) -> None:
        """Cancel a load still under way (its thread is a daemon: exiting does not wait for it), stop the engine."""
        if not self.failed:
            self.stage = "stopping"
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        state = self._app.state if self._app is not None else None
        engine: Engine | None = getattr(state, "engine", None)
        if engine is not None:
            await engine.stop(grace_s)
        loop_lag: LoopLagMonitor | None = getattr(state, "loop_lag", None)
        if loop_lag is not None:
            await loop_lag.stop()


async def run_in_daemon_thread(fn: Callable[..., T], *args: Any) -> T:
    """Like asyncio.to_thread, but on a daemon thread: a SIGTERM during a minutes-long model load
    exits at once instead of waiting for the load (the default executor is joined at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # handed to the awaiting task
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="model-load", daemon=True).start()
    return await future
