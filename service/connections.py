"""Connection hygiene under uvicorn: a deadline for each request head and a cap on open connections."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger(__name__)

# Sent to a connection over the cap before it is closed: a client gets a status, not a reset.
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 29\r\nConnection: close\r\n\r\ntoo many connections (limit)\n"
)


def _base_protocol() -> type[asyncio.Protocol]:
    """What uvicorn's `http="auto"` picks: httptools when installed, else h11."""
    try:
        import httptools  # noqa: F401
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


class GuardedConnection:
    """Mixed into uvicorn's HTTP protocol (which has no header timeout of its own).

    From the moment a connection opens, and again from the first byte of each next request on a
    kept-alive connection, the request head (request line + headers) must be complete within
    `header_timeout_s`, or the connection is closed: slow-header (slowloris) and silent connections
    cannot pile up. The body is then bounded by REQUEST_TIMEOUT_S, idle keep-alive by uvicorn's own
    timer. Connections past `max_connections` get a 503 and are closed at once.
    """

    header_timeout_s: float = 10.0
    max_connections: int = 512
    _head_timer: asyncio.TimerHandle | None = None

    # Attributes of uvicorn's protocol classes that this mixin reads.
    connections: set[Any]
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self.max_connections:
            logger.warning("refused a connection: %d open (MAX_CONNECTIONS)", len(self.connections) - 1)
            transport.write(REFUSED)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and self._awaiting_head():
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)  # type: ignore[misc]
        current: object = self.transport.get_protocol()
        upgraded = current is not self  # a websocket took the connection over
        if self._head_timer is not None and (upgraded or not self._awaiting_head()):
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _awaiting_head(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._awaiting_head() and not self.transport.is_closing():
            logger.info("closed a connection: no complete request head within %.0f s", self.header_timeout_s)
            self.transport.close()


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class with the header deadline and the connection cap."""
    base = _base_protocol()
    attributes = {"header_timeout_s": header_timeout_s, "max_connections": max_connections}
    return type(f"Guarded{base.__name__}", (GuardedConnection, base), attributes)
