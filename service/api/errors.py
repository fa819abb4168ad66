"""Error rendering: every failure becomes the right status and the caller's dialect's error body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from service.api.responses import FastJSONResponse
from service.api.route_table import route_path
from service.errors import InvalidInput, Overloaded, ServiceError, Unauthorized, status_of

logger = logging.getLogger(__name__)

Renderer = Callable[[ServiceError], dict[str, Any]]


def render_native(error: ServiceError) -> dict[str, Any]:
    return {"detail": error.message, "type": error.kind, "param": error.param}


RENDERERS: dict[str, Renderer] = {"native": render_native}


def register_dialect(name: str, renderer: Renderer) -> None:
    """Dialect routers add their error body shape here."""
    RENDERERS[name] = renderer


# The dialect of a path that serves one dialect only, known before the body is read: errors
# raised by middleware (401, 413, 504) use it. Paths shared by several dialects (/embed, /rerank)
# are resolved from the body by `set_dialect` and fall back to native until then.
PATH_DIALECTS: dict[str, str] = {
    "/v1": "openai",  # OpenAI SDKs own /v1 (a typo'd path answers in their shape); exact paths override
    "/v2": "cohere",
    "/v1/embeddings": "openai",
    "/v1/models": "openai",
    "/v1/rerank": "cohere",
    "/v2/rerank": "cohere",
    "/info": "tei",
    "/tokenize": "tei",
}


def register_path_dialect(path: str, dialect: str) -> None:
    """Routers of one-dialect paths declare them here (a path also covers everything below it)."""
    PATH_DIALECTS[path.rstrip("/") or "/"] = dialect


def dialect_for_path(path: str) -> str:
    """The dialect a path speaks before its body is known: exact path, then the longest prefix."""
    path = path.rstrip("/") or "/"
    while True:
        if path in PATH_DIALECTS:
            return PATH_DIALECTS[path]
        if path in ("", "/"):
            return "native"
        path = path.rsplit("/", 1)[0]


def dialect_of(scope: Scope) -> str:
    """The dialect chosen for this request (by its body, if read yet), else its path's."""
    chosen = scope.get("state", {}).get("dialect")
    return str(chosen) if chosen else dialect_for_path(route_path(scope))


def set_dialect(request: Request, dialect: str) -> None:
    """Remember which dialect the caller speaks, so errors come back in its shape."""
    request.state.dialect = dialect


def render_error(scope: Scope, error: ServiceError) -> FastJSONResponse:
    """The error as the caller's dialect shapes it; an ASGI app, so middleware can send it too."""
    dialect = dialect_of(scope)
    body = RENDERERS.get(dialect, render_native)(error)
    headers = {"Retry-After": str(max(1, round(error.retry_after)))} if isinstance(error, Overloaded) else {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return FastJSONResponse(body, status_code=status_of(error, dialect), headers=headers)


def error_response(request: Request, error: ServiceError) -> FastJSONResponse:
    return render_error(request.scope, error)


def internal_error(scope: Scope) -> ServiceError:
    """The generic 500: nothing about the cause, only the id to find it in the server log."""
    request_id = scope.get("state", {}).get("request_id")
    suffix = f" (request id {request_id})" if request_id else ""
    return ServiceError(f"internal error{suffix}; see the server log")


# Where each dialect's text fields belong, so a body sent to the wrong route is told where it fits.
FIELD_HOMES: dict[str, str] = {
    "texts": "POST /embed (native: {texts}) and POST /rerank (TEI: {query, texts})",
    "inputs": "POST /embed (TEI: {inputs})",
    "input": "POST /v1/embeddings (OpenAI: {input})",
    "passages": "POST /rerank (native: {query, passages})",
    "documents": "POST /v1/rerank or /v2/rerank (Cohere/Jina: {query, documents})",
}


def field_location(loc: Any) -> str:
    """`texts[1]`, `documents`: the caller's field, list positions in brackets, no pydantic internals."""
    text = ""
    for part in loc:
        if part == "body":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_validation(errors: list[Any]) -> str:
    """Pydantic errors as one readable sentence: 'texts[1]: Input should be a valid string'."""
    unknown = [str(e["loc"][-1]) for e in errors if e.get("type") == "extra_forbidden" and len(e.get("loc", ())) <= 2]
    missing = [str(e["loc"][-1]) for e in errors if e.get("type") == "missing" and len(e.get("loc", ())) <= 2]
    parts = []
    for key in unknown:
        # The classic first mistake: another dialect's field name on this route.
        hint = f" (did you mean {' or '.join(f'`{m}`' for m in missing)}?)" if missing else ""
        home = f"; `{key}` is the field of {FIELD_HOMES[key]}" if key in FIELD_HOMES else ""
        parts.append(f"unknown field `{key}`{hint}{home}")
    for err in errors:
        if err.get("type") == "extra_forbidden" or (unknown and err.get("type") == "missing"):
            continue
        location = field_location(err.get("loc", ()))
        message = "must not be empty" if err.get("type") == "too_short" else err.get("msg")
        parts.append(f"{location}: {message}" if location else str(message))
    return "; ".join(parts)


def invalid_from(exc: ValidationError | RequestValidationError) -> InvalidInput:
    errors = list(exc.errors())
    missing = [e for e in errors if e.get("type") == "missing"]
    first = (missing or errors)[0].get("loc", ()) if errors else ()
    param = next((str(p) for p in first if p != "body"), None)
    return InvalidInput(describe_validation(errors), param=param)


def install_error_handlers(app: FastAPI) -> None:
    """One place maps errors to responses; routes contain no try/except."""

    async def on_service_error(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, ServiceError)
        if exc.status >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, (ValidationError, RequestValidationError))
        return error_response(request, invalid_from(exc))

    async def on_http(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error = ServiceError(str(exc.detail))
        error.status, error.kind = exc.status_code, "http_error"
        return error_response(request, error)

    async def on_unexpected(request: Request, exc: Exception) -> FastJSONResponse:
        # Normally caught (and logged with its request id) by the request-context middleware first.
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request, internal_error(request.scope))

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
