"""Run the real embedrank server as a subprocess on a free 127.0.0.1 port, for the Qdrant tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(workdir: Path, **settings: str) -> Iterator[str]:
    """Run `uvicorn service.app:app` on a free 127.0.0.1 port until the block ends; yield its URL.

    It runs from `workdir` with the user's model settings removed, so neither the environment nor
    a .env file changes what the tests expect; `settings` adds environment variables on top.
    """
    port = _free_port()
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONPATH": pythonpath}
    for name in ("MODEL_NAME", "CROSS_ENCODER_MODEL", "BACKEND", "API_KEY"):
        env.pop(name, None)
    env.update(settings)
    argv = [sys.executable, "-m", "uvicorn", "service.app:app", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield _wait_ready(f"http://127.0.0.1:{port}", proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: IO[str], timeout: float = 300.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"embedrank server exited with {proc.returncode}:\n{log.read()[-3000:]}")
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"embedrank server not ready after {timeout:.0f} s")
        time.sleep(0.2)
