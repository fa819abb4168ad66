"""API-key authentication: one ASGI middleware guards every route (later ones too) but the open few."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import render_error
from service.api.route_table import route_path
from service.config import Settings
from service.errors import Unauthorized

logger = logging.getLogger(__name__)

# Probes of orchestrators and load balancers carry no key; they reveal nothing secret.
OPEN_PATHS = frozenset({"/", "/health", "/ready"})  # GET "/" only redirects (to /ui/ or /docs)
# POST / is TEI's root route (inference): open are only the reads of these paths.
_OPEN_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _digest(key: str) -> bytes:
    # Hashing first makes the comparison constant-time in the key's length too.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def auth_enabled(settings: Settings) -> bool:
    """True when API_KEY holds at least one key."""
    return bool(settings.api_keys)


def key_is_valid(settings: Settings, presented: str | None) -> bool:
    """Whether `presented` is one of the configured keys, compared in constant time.

    True for any caller when API_KEY is unset (authentication off); False for None when it is set.
    For other entry points with their own login (the /ui console).
    """
    keys = settings.api_keys
    if not keys:
        return True
    if presented is None:
        return False
    candidate = _digest(presented)
    matched = False
    for key in keys:  # no early exit: the time taken does not tell which key (or how many) matched
        matched |= hmac.compare_digest(candidate, _digest(key))
    return matched


def presented_keys(headers: Headers) -> list[str]:
    """Keys the request carries: `Authorization: Bearer <key>`, a bare `Authorization: <key>` (LlamaIndex's
    TEI reranker sends that) and/or `X-API-Key: <key>`."""
    found = []
    authorization = headers.get("authorization", "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found.append(token.strip())
    elif authorization and not token:
        found.append(authorization)
    if headers.get("x-api-key", "").strip():
        found.append(headers["x-api-key"].strip())
    return found


@dataclass(frozen=True)
class LoginGate:
    """A part with its own login: its login page (and what that page loads) is open; everything else
    needs that login's session (`logged_in`) or the API key. Paths are relative to the part's prefix."""

    open_paths: Collection[str]
    open_prefixes: tuple[str, ...]
    logged_in: Callable[[Scope], bool]

    def allows(self, subpath: str, scope: Scope) -> bool:
        if subpath in self.open_paths or subpath.startswith(self.open_prefixes):
            return True
        return self.logged_in(scope)


def delegate_auth(app: FastAPI, path_prefix: str, gate: LoginGate | None = None) -> None:
    """Leave `path_prefix` (and everything below it) to a part with its own login, e.g. the console.

    Without a `gate` the part guards every path itself; with one, this middleware lets through
    only the gate's open paths and requests carrying the part's session (or the API key)."""
    prefix = path_prefix.rstrip("/")
    app.state.auth_delegated = (*getattr(app.state, "auth_delegated", ()), prefix)
    if gate is not None:
        app.state.auth_gates = {**getattr(app.state, "auth_gates", {}), prefix: gate}


class AuthMiddleware:
    """401 in the caller's dialect, before the body is read, for every path but the open ones."""

    def __init__(self, app: ASGIApp, *, settings: Settings, fastapi_app: FastAPI) -> None:
        self.app = app
        self.settings = settings
        self.fastapi_app = fastapi_app
        self.open_paths = set(OPEN_PATHS)
        if not settings.metrics_require_key:
            self.open_paths.add("/metrics")

    def is_open(self, path: str, scope: Scope) -> bool:
        if path in self.open_paths and (path != "/" or str(scope.get("method", "GET")) in _OPEN_METHODS):
            return True
        delegated: tuple[str, ...] = getattr(self.fastapi_app.state, "auth_delegated", ())
        gates: dict[str, LoginGate] = getattr(self.fastapi_app.state, "auth_gates", {})
        for prefix in delegated:
            if path == prefix or path.startswith(prefix + "/"):
                gate = gates.get(prefix)
                return gate is None or gate.allows(path[len(prefix) :], scope)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not auth_enabled(self.settings):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        presented = presented_keys(Headers(scope=scope))
        if self.is_open(path, scope) or any(key_is_valid(self.settings, key) for key in presented):
            await self.app(scope, receive, send)
            return
        message = "invalid API key" if presented else _MISSING
        logger.info("401 %s %s: %s", scope.get("method", "WS"), path, message)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        await render_error(scope, Unauthorized(message))(scope, receive, send)


_MISSING = "API key required: send 'Authorization: Bearer <key>', 'Authorization: <key>' or 'X-API-Key: <key>'"
