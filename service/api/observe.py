"""Per-request context as ASGI middleware: X-Request-ID, one access-log line, metrics, generic 500s."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Protocol

from fastapi import FastAPI
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import internal_error, render_error
from service.api.route_table import route_label, route_path

logger = logging.getLogger(__name__)
access_logger = logging.getLogger(__name__ + ".access")

REQUEST_ID_HEADER = "x-request-id"
# A caller's id is echoed only if it is short and plain, so it cannot forge log lines.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
CLIENT_CLOSED = 499  # logged and counted for requests whose client left before the answer


class RequestObserver(Protocol):
    """Receives every finished request (the Prometheus metrics implement it)."""

    def request_started(self, route: str) -> None: ...

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None: ...


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = str(value.decode("latin-1"))
            if _SAFE_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Outermost of ours: sees every request's final status, even the 401/413/504 of the others."""

    def __init__(
        self, app: ASGIApp, *, fastapi_app: FastAPI, observer: RequestObserver | None, access_log: bool
    ) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.observer = observer
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        route = route_label(self.fastapi_app, route_path(scope), str(scope.get("method", "")))
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER.encode(), request_id.encode())]}
            await send(message)

        if self.observer:
            self.observer.request_started(route)
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:  # the caller hung up; its queued work was dropped. nginx's 499
            status = CLIENT_CLOSED
        except Exception:
            # Routes never catch; anything unexpected ends here: logged in full, answered generically.
            logger.exception("request %s %s %s failed", request_id, scope.get("method"), scope.get("path"))
            if not response_started:
                await render_error(scope, internal_error(scope))(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", ""))
            if self.observer:
                self.observer.request_finished(route, method, status, seconds)
            if self.access_log:
                client = scope.get("client") or ("-", 0)
                access_logger.info(
                    "%s %s %s %s %d %.1fms", request_id, client[0], method, scope.get("path"), status, seconds * 1000
                )
