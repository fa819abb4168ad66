"""The console mounted lightly: Gradio is imported and the Blocks built on the first visit to /ui, not at start-up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

# Builds the Gradio app (blocking: imports gradio, builds the Blocks); returns the parent app it is mounted on.
Builder = Callable[[], FastAPI]


class LazyConsole:
    """An ASGI app at /ui that builds the real console on first use, then hands every request to it.

    Gradio's import is about a third of the server's start-up time and ~40 MB of memory; a server
    whose console nobody opens never pays it. The first visitor waits for the build (seconds),
    off the event loop, so the API keeps answering meanwhile. `state`: idle, building, built, failed.
    """

    def __init__(self, build: Builder) -> None:
        self._build = build
        self._inner: ASGIApp | None = None
        self._lock: asyncio.Lock | None = None
        self._lifespan_task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self.state = "idle"
        self.build_seconds: float | None = None

    @property
    def gradio_app(self) -> Any:
        """The built Gradio app (its login tokens), or None before the first visit."""
        return self._inner

    async def ensure_built(self) -> ASGIApp:
        """The Gradio app, built now if it is not yet (one build, however many visitors arrive at once)."""
        if self._inner is not None:
            return self._inner
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._inner is None:
                self.state = "building"
                started = time.perf_counter()
                try:
                    parent = await asyncio.to_thread(self._build)
                    await self._run_gradio_lifespan(parent)
                except BaseException:
                    self.state = "failed"
                    raise
                self._inner = _mounted_app(parent)
                self.build_seconds = time.perf_counter() - started
                self.state = "built"
                logger.info("console built on first use in %.1fs", self.build_seconds)
        return self._inner

    async def _run_gradio_lifespan(self, parent: FastAPI) -> None:
        """Gradio's startup events (its queue workers) run inside its lifespan: hold it open in a task of
        its own until the server stops, so it is entered and left by the same task."""
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        stop = self._stop

        async def hold() -> None:
            try:
                async with parent.router.lifespan_context(parent):
                    started.set_result(None)
                    await stop.wait()
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                raise

        self._lifespan_task = asyncio.create_task(hold(), name="console-lifespan")
        await started

    async def close(self) -> None:
        """Leave Gradio's lifespan (called when the server's own lifespan ends)."""
        if self._stop is not None and self._lifespan_task is not None:
            self._stop.set()
            await asyncio.gather(self._lifespan_task, return_exceptions=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = self._inner or await self.ensure_built()
        await inner(scope, receive, send)


def _mounted_app(parent: FastAPI) -> ASGIApp:
    """The Gradio app that `gr.mount_gradio_app` mounted on `parent` (its last route)."""
    app: Any = parent.routes[-1].app  # type: ignore[attr-defined]
    return app  # type: ignore[no-any-return]
