"""The class-of-work header (X-Embedrank-Priority) and the early 429 of a large body, before it is read."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import render_error
from service.api.limits import content_length
from service.api.route_table import route_path
from service.engine.classes import PRIORITY_HEADER, WorkClass, declared_priority, parse_priority
from service.errors import ServiceError

_HEADER = PRIORITY_HEADER.encode()
# POST routes that run no model: never refused for the model's queue.
_NO_INFERENCE = frozenset({"/tokenize", "/decode"})


class PriorityMiddleware:
    """Sets the caller's declared class for the engine (every dialect's route inherits it), 422 for a
    value that is neither interactive nor bulk; and refuses a large inference body at once from its
    Content-Length when admission could not take it anyway (the flood's 429s stay fast)."""

    # The console (ui.MOUNT_PATH) posts its own Gradio traffic; service/ never imports ui/.
    def __init__(self, app: ASGIApp, *, console_path: str | None = "/ui") -> None:
        self.app = app
        self.console_path = console_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: WorkClass | None = None
        try:
            for name, value in scope.get("headers", ()):
                if name == _HEADER:
                    declared = parse_priority(value.decode("latin-1"))
            if scope.get("method") == "POST" and self._runs_a_model(scope):
                self._check_body(scope, declared)
        except ServiceError as error:
            await render_error(scope, error)(scope, receive, send)
            return
        token = declared_priority.set(declared)
        try:
            await self.app(scope, receive, send)
        finally:
            declared_priority.reset(token)

    def _runs_a_model(self, scope: Scope) -> bool:
        path = route_path(scope)
        if self.console_path and (path == self.console_path or path.startswith(self.console_path + "/")):
            return False
        return path not in _NO_INFERENCE

    @staticmethod
    def _check_body(scope: Scope, declared: WorkClass | None) -> None:
        size = content_length(scope)
        engine = getattr(scope["app"].state, "engine", None) if "app" in scope else None
        if size is not None and engine is not None and engine.ready:
            engine.check_body(size, declared)
