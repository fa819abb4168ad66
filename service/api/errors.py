"""Error rendering: every failure becomes the right status and the caller's dialect's error body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from service.api.dialect import Dialect
from service.api.hints import route_hint
from service.api.registry import FALLBACK, DialectRegistry
from service.api.responses import FastJSONResponse
from service.api.route_table import route_path
from service.errors import InvalidInput, Overloaded, ServiceError, Unauthorized

logger = logging.getLogger(__name__)


def dialects_of(scope: Scope) -> DialectRegistry | None:
    """The app's registered dialects (None before `install_dialects`, or inside a mounted sub-app)."""
    app = scope.get("app")
    registry = getattr(getattr(app, "state", None), "dialects", None)
    return registry if isinstance(registry, DialectRegistry) else None


def dialect_of(scope: Scope) -> Dialect:
    """The dialect chosen for this request (by its route or body, if known yet), else its path's."""
    registry = dialects_of(scope)
    if registry is None:
        return FALLBACK
    chosen = scope.get("state", {}).get("dialect")
    return registry.by_name.get(str(chosen)) or registry.for_path(route_path(scope))


def render_error(scope: Scope, error: ServiceError) -> FastJSONResponse:
    """The error as the caller's dialect shapes it; an ASGI app, so middleware can send it too."""
    dialect = dialect_of(scope)
    body = dialect.render(error)
    headers = {"Retry-After": str(max(1, round(error.retry_after)))} if isinstance(error, Overloaded) else {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return FastJSONResponse(body, status_code=dialect.status(error), headers=headers)


def error_response(request: Request, error: ServiceError) -> FastJSONResponse:
    return render_error(request.scope, error)


def internal_error(scope: Scope) -> ServiceError:
    """The generic 500: nothing about the cause, only the id to find it in the server log."""
    request_id = scope.get("state", {}).get("request_id")
    suffix = f" (request id {request_id})" if request_id else ""
    return ServiceError(f"internal error{suffix}; see the server log")


def field_location(loc: Any) -> str:
    """`texts[1]`, `documents`: the caller's field, list positions in brackets, no pydantic internals."""
    text = ""
    for part in loc:
        if part == "body":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_validation(errors: list[Any], homes: dict[str, str]) -> str:
    """Pydantic errors as one readable sentence: 'texts[1]: Input should be a valid string'."""
    unknown = [str(e["loc"][-1]) for e in errors if e.get("type") == "extra_forbidden" and len(e.get("loc", ())) <= 2]
    missing = [str(e["loc"][-1]) for e in errors if e.get("type") == "missing" and len(e.get("loc", ())) <= 2]
    parts = []
    for key in unknown:
        # The classic first mistake: another dialect's field name on this route.
        hint = f" (did you mean {' or '.join(f'`{m}`' for m in missing)}?)" if missing else ""
        home = f"; `{key}` is the field of {homes[key]}" if key in homes else ""
        parts.append(f"unknown field `{key}`{hint}{home}")
    for err in errors:
        if err.get("type") == "extra_forbidden" or (unknown and err.get("type") == "missing"):
            continue
        location = field_location(err.get("loc", ()))
        message = "must not be empty" if err.get("type") == "too_short" else err.get("msg")
        parts.append(f"{location}: {message}" if location else str(message))
    return "; ".join(parts)


def invalid_from(exc: ValidationError | RequestValidationError, homes: dict[str, str]) -> InvalidInput:
    errors = list(exc.errors())
    missing = [e for e in errors if e.get("type") == "missing"]
    first = (missing or errors)[0].get("loc", ()) if errors else ()
    param = next((str(p) for p in first if p != "body"), None)
    error = InvalidInput(describe_validation(errors, homes), param=param)
    # FastAPI-style clients (Infinity's) parse the list itself: locations as FastAPI reports them.
    error.details = [
        {
            "loc": ["body", *(p for p in e.get("loc", ()) if p != "body")],
            "msg": str(e.get("msg")),
            "type": e.get("type"),
        }
        for e in errors
    ]
    return error


def install_error_handlers(app: FastAPI) -> None:
    """One place maps errors to responses; routes contain no try/except."""

    async def on_service_error(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, ServiceError)
        if exc.status >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        return error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, (ValidationError, RequestValidationError))
        registry = dialects_of(request.scope)
        return error_response(request, invalid_from(exc, registry.homes if registry else {}))

    async def on_http(request: Request, exc: Exception) -> FastJSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
            message += f": {request.method} {route_path(request.scope)}." + route_hint(
                app, request.method, route_path(request.scope)
            )
        error = ServiceError(message)
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
