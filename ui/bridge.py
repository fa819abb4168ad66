"""The console's one way to the Engine: in-process, on the server's event loop, never over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import FastAPI

from service.engine import Engine
from service.errors import NotReady

T = TypeVar("T")
Work = Callable[[Engine], Coroutine[Any, Any, T]]


class EngineBridge:
    """Finds the app's Engine and runs coroutines against it on the loop that owns its batchers.

    The batchers' futures and collector tasks belong to the server's event loop. Gradio, mounted
    on the app, awaits async handlers on that same loop, so `call` normally awaits directly
    (`direct_calls` counts those); from any other loop it hops over with run_coroutine_threadsafe
    (`relayed_calls`), and worker threads (Qdrant I/O in the Search tab) use `call_blocking`.
    """

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self.loop: asyncio.AbstractEventLoop | None = None  # set by the app's lifespan (see ui.mount_console)
        self.direct_calls = 0
        self.relayed_calls = 0

    def engine(self) -> Engine:
        """The loaded Engine, or NotReady while the model is loading or the server is stopping."""
        engine: Engine | None = getattr(self._app.state, "engine", None)
        if engine is None or not engine.ready:
            raise NotReady("the model is not ready yet (still loading, or shutting down); try again in a moment")
        return engine

    async def call(self, work: Work[T]) -> T:
        """Await `work(engine)` on the engine's loop without blocking the caller's loop."""
        engine = self.engine()
        running = asyncio.get_running_loop()
        if self.loop is None or self.loop is running:
            self.direct_calls += 1
            return await work(engine)
        self.relayed_calls += 1
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(engine), self.loop))

    def call_blocking(self, work: Work[T]) -> T:
        """Run `work(engine)` on the engine's loop and wait for it; for worker threads only."""
        engine = self.engine()
        if self.loop is None:
            raise NotReady("the console is not attached to a running server")
        if _running_loop() is self.loop:
            raise RuntimeError("call_blocking on the event loop's own thread would deadlock; use `await call`")
        self.relayed_calls += 1
        return asyncio.run_coroutine_threadsafe(work(engine), self.loop).result()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a plain worker thread
        return None
