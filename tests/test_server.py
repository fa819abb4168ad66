"""Graceful shutdown of the real server: SIGTERM stops accepting, drains in-flight requests, exits 0."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from tests.live_server import SERVE, serve

pytestmark = pytest.mark.slow


@contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    # MAX_QUEUE_WAIT_S: admission must let every request in, however slow this machine is today
    settings = {"UI_ENABLED": "false", "MAX_QUEUE_WAIT_S": "600", **env}
    with serve(settings, [*SERVE, "--port", "{port}"], timeout_s=180) as running:
        yield running.proc, running.url


def in_flight(base: str) -> float:
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith("embedrank_http_requests_in_flight "):
            return float(line.split()[1]) - 1  # minus this scrape
    return 0.0


def refused(base: str) -> bool:
    try:
        httpx.get(f"{base}/health", timeout=2)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def test_sigterm_drains_in_flight_requests_and_exits_0() -> None:
    with server({"SHUTDOWN_GRACE_S": "120"}) as (proc, base), ThreadPoolExecutor(3) as pool:
        batches = [[f"drain {n}-{i} " + "word " * 100 for i in range(96)] for n in range(3)]
        calls = [pool.submit(httpx.post, f"{base}/embed", json={"texts": t}, timeout=300) for t in batches]
        deadline = time.monotonic() + 60
        while in_flight(base) < 3:
            assert time.monotonic() < deadline and not any(call.done() for call in calls), "requests ended early"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        while not refused(base):  # the listening socket closes at once...
            assert proc.poll() is None
            time.sleep(0.05)
        assert not all(call.done() for call in calls), "drained before the check: make the requests longer"
        for call in calls:  # ...while every accepted request still gets its full answer
            r = call.result()
            assert r.status_code == 200 and len(r.json()["vectors"]) == 96
        assert proc.wait(timeout=60) == 0


def test_grace_period_bounds_the_drain() -> None:
    with server({"SHUTDOWN_GRACE_S": "1"}) as (proc, base), ThreadPoolExecutor(1) as pool:
        texts = [f"long {i} " + "word " * 200 for i in range(2048)]  # far more than a second of work
        call = pool.submit(httpx.post, f"{base}/embed", json={"texts": texts}, timeout=300)
        while in_flight(base) < 1:
            time.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert time.monotonic() - started < 30
        with pytest.raises(httpx.HTTPError):
            call.result().raise_for_status()
