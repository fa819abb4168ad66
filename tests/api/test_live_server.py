"""The real CLI + uvicorn on 127.0.0.1: the original spec's curl examples, then a clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.live_server import REPO, free_port, live_server


def test_spec_examples_over_real_http() -> None:
    with live_server() as base:
        embed = httpx.post(
            f"{base}/embed", json={"texts": ["What is RAG?", "Qdrant is a vector database"], "batch_size": 32}
        )
        assert embed.status_code == 200 and embed.json()["dim"] == 384
        rerank = httpx.post(
            f"{base}/rerank",
            json={
                "query": "How to integrate Qdrant?",
                "passages": [
                    "Qdrant is a Rust-based vector database",
                    "n8n can call Qdrant over HTTP",
                    "LM Studio runs local models",
                ],
                "top_k": 2,
                "use_cross_encoder": False,
            },
        )
        assert rerank.status_code == 200 and len(rerank.json()["results"]) == 2
        assert httpx.get(f"{base}/health").json()["status"] == "ok"


def test_sigterm_exits_cleanly() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=1) as client:
            for _ in range(600):
                assert proc.poll() is None, "server died during start-up"
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
