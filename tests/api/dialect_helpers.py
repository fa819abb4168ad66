"""Helpers shared by the OpenAI, Cohere and TEI dialect tests: a busy queue, an app that is not ready."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx

from service.app import create_app
from service.config import Settings


async def while_queue_is_busy(
    client: httpx.AsyncClient, request: Coroutine[Any, Any, httpx.Response]
) -> tuple[httpx.Response, httpx.Response]:
    """Send `request` while a big native /embed request holds admission (a tiny MAX_QUEUE_WAIT_S): (big, request)."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    big = asyncio.ensure_future(client.post("/embed", json={"texts": [f"busy text {i} " * 20 for i in range(8)]}))
    while engine.admission.stats.queued_seconds == 0:
        await asyncio.sleep(0.001)
    second = await request
    return await big, second


@asynccontextmanager
async def not_ready_client() -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan NOT run: no engine, so every model route must answer 503."""
    app = create_app(Settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://embedrank.test") as client:
        yield client
