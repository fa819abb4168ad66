"""Benchmark servers: the shared launcher (tests/live_server.py) with a benchmark's start-up allowance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from tests.live_server import Server, serve

__all__ = ["Server", "server"]


@contextmanager
def server(
    env: Mapping[str, str], command: list[str] | None = None, timeout_s: float = 300.0, ready_path: str = "/ready"
) -> Iterator[Server]:
    """A real server with its pid for CPU and memory accounting; "{port}" in a peer's command becomes its port."""
    with serve(env, command, timeout_s=timeout_s, ready_path=ready_path, log_name="embedrank-bench") as running:
        yield running
