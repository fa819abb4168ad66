"""Benchmark servers: the shared launcher (tests/live_server.py) with a benchmark's start-up allowance."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.live_server import Server, serve

__all__ = ["INFINITY", "Server", "infinity_server", "server"]

INFINITY = Path(os.environ.get("INFINITY_BIN", Path.home() / ".cache/embedrank-apps/infinity/bin/infinity_emb"))


@contextmanager
def server(
    env: Mapping[str, str], command: list[str] | None = None, timeout_s: float = 300.0, ready_path: str = "/ready"
) -> Iterator[Server]:
    """A real server with its pid for CPU and memory accounting; "{port}" in a peer's command becomes its port."""
    with serve(env, command, timeout_s=timeout_s, ready_path=ready_path, log_name="embedrank-bench") as running:
        yield running


def infinity_server(stack: contextlib.ExitStack, model_path: str) -> Server | None:
    """The peer, infinity-emb, serving the same model folder; None (and a note) when it is not installed."""
    if not INFINITY.exists():
        print(f"# infinity-emb not found at {INFINITY}: run benchmarks/install_infinity.sh (its rows skipped)")
        return None
    command = [str(INFINITY), "v2", "--model-id", model_path, "--engine", "torch", "--device", "cpu"]
    command += ["--batch-size", "32", "--no-bettertransformer", "--host", "127.0.0.1", "--port", "{port}"]
    env = {"DO_NOT_TRACK": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0", "HF_HUB_OFFLINE": "1"}
    return stack.enter_context(server(env, command=command, ready_path="/health"))
