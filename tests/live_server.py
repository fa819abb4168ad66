"""Start the real server as a subprocess on a free 127.0.0.1 port (for tests and benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(
    env: Mapping[str, str] | None = None, *, command: list[str] | None = None, timeout_s: float = 120.0
) -> Iterator[str]:
    """Yield the base URL of a running server; stop it (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOST": "127.0.0.1", "PORT": str(port), **(env or {})}
    argv = command or [sys.executable, "-m", "service.cli", "serve"]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"embedrank-{port}.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(argv, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server not ready after {timeout_s}s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
