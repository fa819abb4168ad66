"""Host header check against DNS rebinding: a server on loopback answers only to loopback names (and ALLOWED_HOSTS)."""

from __future__ import annotations

import ipaddress
import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import render_error
from service.errors import InvalidHost

logger = logging.getLogger(__name__)

# Names containers use for their host: only a container's own resolver knows them, so no web page can
# rebind to them (a rebinding page always sends its own domain), and Docker Desktop forwards them to loopback.
CONTAINER_HOST_NAMES = frozenset({"host.docker.internal", "gateway.docker.internal", "host.containers.internal"})


def is_loopback(host: str) -> bool:
    """A loopback bind address or name: localhost, 127.0.0.0/8, ::1."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a Host header without its port: 'localhost:9000' -> 'localhost', '[::1]:9000' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    name, _, port = header.rpartition(":")
    return name if name and port.isdigit() else header.rstrip(".")


def host_allowed(header: str, allowed: list[str]) -> bool:
    """Loopback and container-host names always; then ALLOWED_HOSTS entries: exact names, '.example.com'
    for a domain and its subdomains, '*' for any."""
    name = host_name(header)
    if not name:
        return False
    if is_loopback(name) or name in CONTAINER_HOST_NAMES:
        return True
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == "*" or name == entry or (entry.startswith(".") and (name.endswith(entry) or name == entry[1:])):
            return True
    return False


class HostGuardMiddleware:
    """400 in the caller's dialect for a Host this server does not answer to.

    A page on evil.example that re-resolves its own name to 127.0.0.1 (DNS rebinding) reaches a
    loopback server as same-origin, but its requests still say `Host: evil.example`.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("host", "")
        if host_allowed(header, self.allowed_hosts):
            await self.app(scope, receive, send)
            return
        logger.info("refused Host %r on %s", header[:100], scope.get("path"))
        message = f"Host '{header[:100]}' is not served here; add it to ALLOWED_HOSTS to allow it"
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        # This guard sits outside the FastAPI app, which has not yet put itself in the scope: the error
        # renderer finds the app's dialects (and so the caller's error shape) through scope["app"].
        await render_error({**scope, "app": self.app}, InvalidHost(message))(scope, receive, send)
