"""Error rendering: every failure becomes the right status and the caller's dialect's error body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.responses import FastJSONResponse
from service.errors import InvalidInput, Overloaded, ServiceError, status_of

logger = logging.getLogger(__name__)

Renderer = Callable[[ServiceError], dict[str, Any]]


def render_native(error: ServiceError) -> dict[str, Any]:
    return {"detail": error.message, "type": error.kind, "param": error.param}


RENDERERS: dict[str, Renderer] = {"native": render_native}


def register_dialect(name: str, renderer: Renderer) -> None:
    """Dialect routers add their error body shape here."""
    RENDERERS[name] = renderer


def set_dialect(request: Request, dialect: str) -> None:
    """Remember which dialect the caller speaks, so errors come back in its shape."""
    request.state.dialect = dialect


def error_response(request: Request, error: ServiceError) -> FastJSONResponse:
    dialect = getattr(request.state, "dialect", "native")
    body = RENDERERS.get(dialect, render_native)(error)
    headers = {"Retry-After": str(max(1, round(error.retry_after)))} if isinstance(error, Overloaded) else None
    return FastJSONResponse(body, status_code=status_of(error, dialect), headers=headers)


def describe_validation(errors: list[Any]) -> str:
    """Pydantic errors as one readable sentence: 'texts.1: Input should be a valid string'."""
    parts = []
    for err in errors:
        location = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{location}: {err.get('msg')}" if location else str(err.get("msg")))
    return "; ".join(parts)


def invalid_from(exc: ValidationError | RequestValidationError) -> InvalidInput:
    errors = list(exc.errors())
    first = errors[0].get("loc", ()) if errors else ()
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
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(request, ServiceError("internal error; see the server log"))

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
