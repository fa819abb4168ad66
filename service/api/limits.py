"""Request-level limits as ASGI middleware: body size (413) while it streams, and a deadline (504)."""

from __future__ import annotations

import logging
import math

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import render_error
from service.errors import InputTooLarge, Timeout

logger = logging.getLogger(__name__)


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes`: at once from Content-Length, else as soon as the streamed
    chunks pass the limit, so a huge body is never held in memory. Routes with any body parser
    (ours, FastAPI's, a mounted app's) get the same 413, in the caller's dialect."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self, size: str) -> InputTooLarge:
        return InputTooLarge(f"the request body is {size}; at most {self.max_bytes} bytes are accepted")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await render_error(scope, self.too_large(f"{declared} bytes"))(scope, receive, send)
            return
        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise self.too_large(f"over {self.max_bytes} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:  # whatever the app made of the error, the caller gets our 413
                return
            response_started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except InputTooLarge:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await render_error(scope, self.too_large(f"over {self.max_bytes} bytes"))(scope, receive, send)


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class TimeoutMiddleware:
    """504 in the caller's dialect when no response has started within `timeout_s`.

    The request's task is cancelled, which cancels its queued batcher items (and so frees the
    queue); a batch already on the inference thread finishes but its result is dropped. Once a
    response starts (streams, the console) the deadline no longer applies.
    """

    def __init__(self, app: ASGIApp, *, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.timeout_s <= 0:
            await self.app(scope, receive, send)
            return
        started = False
        with anyio.CancelScope(deadline=anyio.current_time() + self.timeout_s) as deadline:

            async def send_and_lift_deadline(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    deadline.deadline = math.inf
                await send(message)

            await self.app(scope, receive, send_and_lift_deadline)
        if deadline.cancelled_caught and not started:
            logger.warning("%s %s timed out after %.1fs", scope.get("method"), scope.get("path"), self.timeout_s)
            error = Timeout(f"the request took longer than {self.timeout_s:g} s (REQUEST_TIMEOUT_S); it was cancelled")
            await render_error(scope, error)(scope, receive, send)
