"""The real CLI + uvicorn on 127.0.0.1: the original spec's curl examples, then a clean SIGTERM."""

from __future__ import annotations

import signal

import httpx

from tests.live_server import SERVE, live_server, serve


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
    with serve(command=[*SERVE, "--port", "{port}"], timeout_s=120) as server:
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
