"""Benchmark servers as real uvicorn subprocesses on 127.0.0.1, with their pid for CPU accounting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.live_server import REPO, free_port

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    url: str
    pid: int
    log: Path
    ready_seconds: float = 0.0  # from process start to the first 200 on the ready path

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
def server(
    env: Mapping[str, str], command: list[str] | None = None, timeout_s: float = 300.0, ready_path: str = "/ready"
) -> Iterator[Server]:
    """Like tests/live_server.py, but also yields the pid; the log stays in $TMPDIR for post-mortems."""
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOST": "127.0.0.1", "PORT": str(port), **env}
    # "{port}" in a command (a peer server that takes its port as a flag) becomes the chosen port
    argv = [arg.replace("{port}", str(port)) for arg in (command or [sys.executable, "-m", "service.cli", "serve"])]
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"embedrank-bench-{port}.log"
    with open(log_path, "w+") as log:
        proc = subprocess.Popen(argv, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{argv} exited with {proc.returncode}:\n{log.read()[-3000:]}")
                try:
                    if httpx.get(f"{url}{ready_path}", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{argv} not ready after {timeout_s}s")
                time.sleep(0.2)
            yield Server(url, proc.pid, log_path, ready_seconds=time.monotonic() - started)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
