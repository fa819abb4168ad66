"""The service's error types and the one table that maps them to HTTP statuses (no web imports)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of every error a caller may see; `kind` names it in every dialect's error body."""

    status: int = 500
    kind: str = "internal_error"
    details: list[dict[str, Any]] | None = None  # per-field problems, for dialects that list them

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidInput(ServiceError):
    """The request is well-formed JSON but asks for something we cannot do."""

    status = 422
    kind = "invalid_request"


class InputTooLarge(ServiceError):
    """An input or the request as a whole exceeds a configured limit."""

    status = 413
    kind = "payload_too_large"


class Overloaded(ServiceError):
    """Admission refused the work: it would not finish in time; retry after `retry_after` seconds."""

    status = 429
    kind = "overloaded"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReady(ServiceError):
    """The model is not loaded yet, or the service is shutting down."""

    status = 503
    kind = "unavailable"


class Unauthorized(ServiceError):
    """No API key, or a wrong one, on a route that needs it."""

    status = 401
    kind = "unauthorized"


class Timeout(ServiceError):
    """The request ran past REQUEST_TIMEOUT_S; its queued work was cancelled."""

    status = 504
    kind = "timeout"


class FeatureUnavailable(ServiceError):
    """A feature needs something this deployment does not have (a cross-encoder, an extra)."""

    status = 400
    kind = "unsupported"


class NotFound(ServiceError):
    """The caller named something this server does not have (e.g. another model id)."""

    status = 404
    kind = "not_found"


class UnsupportedMediaType(ServiceError):
    """A JSON route got another Content-Type, or a Content-Encoding other than gzip."""

    status = 415
    kind = "unsupported_media_type"


class InvalidHost(ServiceError):
    """The Host header names no host this server answers to (a DNS-rebinding page, a stray proxy)."""

    status = 400
    kind = "invalid_host"


class ModelOutputError(ServiceError):
    """The model produced unusable numbers (NaN/Inf); nothing is returned instead of a bad vector."""

    status = 500
    kind = "model_error"


class MissingExtra(RuntimeError):
    """Raised at start-up when an optional dependency is needed but not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed: pip install 'embedrank[{extra}]'")
