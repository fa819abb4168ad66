"""Binding the listening socket first: a port in use is said in milliseconds, before anything heavy is imported."""

from __future__ import annotations

import errno
import socket


class PortInUse(RuntimeError):
    """The configured host:port cannot be bound; said before any model is loaded."""


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound now (milliseconds after start, before the model loads).

    A port in use is a PortInUse with a sentence that says what to do, not a traceback after a load.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn does: restarts reuse TIME_WAIT ports
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use (another embedrank or another server?): stop it, "
                "or choose another port with --port / PORT"
            ) from exc
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse now when host:port is taken (for servers that bind it themselves later, e.g. Ray's proxy)."""
    bind_socket(host, port).close()
