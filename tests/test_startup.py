"""Bind first, load after, on the real server: /ready 503 with the stage while loading, port in use fails fast."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live_server import REPO, free_port

pytestmark = pytest.mark.slow


def _env(port: int, **extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HOST": "127.0.0.1", "PORT": str(port), **extra}


def _answers_while_loading(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 180) -> list[dict[str, object]]:
    """Every distinct answer of /ready, /health and one model route per dialect until /ready says 200."""
    seen: list[dict[str, object]] = []
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the server died during start-up"
            try:
                ready = client.get("/ready")
            except httpx.ConnectError:
                time.sleep(0.01)
                continue
            if ready.status_code == 200:
                return seen
            answer: dict[str, object] = {"ready": (ready.status_code, ready.json())}
            health = client.get("/health")
            answer["health"] = (health.status_code, health.json())
            answer["openai"] = client.post("/v1/embeddings", json={"input": "x", "model": "m"})
            answer["cohere"] = client.post("/v1/rerank", json={"query": "q", "documents": ["a"]})
            answer["native"] = client.post("/embed", json={"texts": ["x"]})
            seen.append(answer)
            time.sleep(0.05)
    raise TimeoutError("not ready in time")


def test_port_answers_at_once_and_ready_is_503_with_the_stage_until_warm() -> None:
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"], cwd=REPO, env=_env(port, UI_ENABLED="true"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        seen = _answers_while_loading(port, proc)
        ready_s = time.monotonic() - started
        # The port is bound before torch is even imported, so the first answers come while the model loads.
        assert len(seen) > 1, "no answers before ready: the port was bound only after loading"
        stages = [answer["ready"][1]["stage"] for answer in seen]  # type: ignore[index]
        assert "loading model" in stages or "warming up" in stages, stages
        # The last sample may race the end of loading: every earlier one was taken while loading.
        for answer in seen[:-1] if len(seen) > 1 else seen:
            status, body = answer["ready"]  # type: ignore[misc]
            assert status == 503 and body["status"] == "loading" and body["stage"], body
            status, body = answer["health"]  # type: ignore[misc]
            assert status == 200 and body["status"] == "loading" and body["stage"], body  # alive: not restarted
            openai, cohere, native = answer["openai"], answer["cohere"], answer["native"]
            assert isinstance(openai, httpx.Response) and openai.status_code == 503
            assert "still loading" in openai.json()["error"]["message"]
            assert isinstance(cohere, httpx.Response) and cohere.status_code == 503
            assert "still loading" in cohere.json()["message"]
            assert isinstance(native, httpx.Response) and native.status_code == 503
            assert native.json()["type"] == "unavailable"
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health["status"] == "ok" and health["stage"] == "ready"
        assert health["console"] == "idle"  # the console is built on its first visit, not at start-up
        page = httpx.get(f"http://127.0.0.1:{port}/ui/", timeout=120)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["console"] == "built"
        print(f"\n{len(seen)} answers while loading ({sorted(set(stages))}); ready after {ready_s:.1f}s")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.parametrize("ray", [False, True], ids=["plain", "ray"])
def test_a_port_in_use_fails_fast_before_any_model_load(ray: bool) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)] + (["--ray"] if ray else [])
        started = time.monotonic()
        done = subprocess.run(argv, cwd=REPO, env=_env(port), capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr and "loading" not in done.stderr  # said before anything loaded
    # Python's own start and the CLI's imports only (about 0.5 s on a quiet 2-core machine); a busy CI
    # machine gets room, while a model load (torch alone takes longer) would not fit.
    print(f"\nport in use reported after {elapsed:.2f}s")
    assert elapsed < 5


def test_a_model_that_cannot_load_ends_the_process_non_zero(tmp_path: Path) -> None:
    port = free_port()
    missing = tmp_path / "no-such-model"
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve"], cwd=REPO,
        env=_env(port, MODEL_NAME=str(missing), UI_ENABLED="false"), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 1
    log = proc.stdout + proc.stderr
    assert "start-up failed while" in log and "Traceback" in log  # the cause is in the log
