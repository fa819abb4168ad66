"""The one launcher tests and benchmarks share: a real server (ours or an app) as a subprocess on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parent.parent
SERVE = [sys.executable, "-m", "service.cli", "serve"]
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path | None  # None: the output went to a temporary file, gone after the block
    ready_seconds: float = 0.0  # from process start to the first 200 on the ready path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory of the server process now (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU of every thread of the server so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS


@contextmanager
def running(
    argv: list[str],
    env: Mapping[str, str],
    *,
    port: int,
    cwd: Path = REPO,
    ready_path: str = "/ready",
    timeout_s: float = 120.0,
    log_path: Path | None = None,
) -> Iterator[Server]:
    """Run `argv` (with exactly `env`) until GET ready_path answers 200; stop it (SIGTERM, then SIGKILL) afterwards.

    "{port}" in argv becomes `port`. A process that exits or is not ready in time raises with its log's tail.
    """
    argv = [arg.replace("{port}", str(port)) for arg in argv]
    log: IO[str] = open(log_path, "w+") if log_path else tempfile.TemporaryFile("w+")  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    with log:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            wait_ready(proc, log, f"{url}{ready_path}", timeout_s, what=" ".join(argv[:4]))
            yield Server(url, proc, log_path, ready_seconds=time.monotonic() - started)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def wait_ready(proc: subprocess.Popen[bytes], log: IO[str], ready_url: str, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read()[-3000:]}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            log.seek(0)
            raise TimeoutError(f"{what} not ready after {timeout_s}s:\n{log.read()[-3000:]}")
        time.sleep(0.2)


@contextmanager
def serve(
    env: Mapping[str, str] | None = None,
    command: list[str] | None = None,
    *,
    timeout_s: float = 120.0,
    ready_path: str = "/ready",
    cwd: Path = REPO,
    log_name: str = "embedrank",
) -> Iterator[Server]:
    """Our server (`embedrank serve`, or `command`) offline on a free port; its log stays in $TMPDIR."""
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOST": "127.0.0.1", "PORT": str(port), **(env or {})}
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{log_name}-{port}.log"
    with running(
        command or SERVE, full_env, port=port, cwd=cwd, ready_path=ready_path, timeout_s=timeout_s, log_path=log_path
    ) as server:
        yield server


@contextmanager
def live_server(
    env: Mapping[str, str] | None = None, *, command: list[str] | None = None, timeout_s: float = 120.0
) -> Iterator[str]:
    """Yield the base URL of a running server; stop it (SIGTERM, then SIGKILL) afterwards."""
    with serve(env, command, timeout_s=timeout_s) as server:
        yield server.url


@contextmanager
def in_thread(app: Any, port: int | None = None, what: str = "stand-in", **config: Any) -> Iterator[str]:
    """An ASGI app (a stand-in service) served by uvicorn in a daemon thread; `config` goes to uvicorn.Config."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
