"""Request limits on the real app: body size (413, streamed), deadline (504), full queue (429), rerank sizes."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest

from service.engine import Engine
from tests.conftest import AppClient
from tests.live_server import live_server


@contextmanager
def inference_thread_held(engine: Engine) -> Iterator[None]:
    """Keep the one inference thread busy (as a long batch would) until the block ends."""
    release = threading.Event()
    engine._executor.submit(release.wait, 30)
    try:
        yield
    finally:
        release.set()


async def _stream(chunks: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(chunks):
        yield b" " * size


async def test_body_over_the_limit_is_413_in_the_callers_dialect(app_client: AppClient) -> None:
    async with app_client(max_request_bytes=2000, ui_enabled=False) as client:
        big = {"texts": ["x" * 3000]}
        r = await client.post("/embed", json=big)
        assert r.status_code == 413 and r.json()["type"] == "payload_too_large" and "2000 bytes" in r.json()["detail"]
        r = await client.post("/v1/embeddings", json={"input": "x" * 3000, "model": "m"})
        assert r.status_code == 413 and "2000 bytes" in r.json()["error"]["message"]
        # no Content-Length: counted while it streams in
        r = await client.post("/embed", content=_stream(10, 500), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["type"] == "payload_too_large"
        assert (await client.post("/embed", json={"texts": ["x" * 1500]})).status_code == 200


def test_a_streamed_body_is_refused_before_it_ends() -> None:
    """Real uvicorn, raw socket: the 413 arrives while the client is still sending chunks."""
    with live_server(env={"MAX_REQUEST_BYTES": "10000", "UI_ENABLED": "false"}) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b" " * 4000
            for _ in range(4):  # 16 kB sent, never terminated: the server must not wait for the rest
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            answer = b""
            while b"payload_too_large" not in answer and (chunk := sock.recv(4096)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"payload_too_large" in answer


async def test_deadline_answers_504_and_drops_the_queued_work(app_client: AppClient) -> None:
    async with app_client(request_timeout_s=3, ui_enabled=False) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        batches, dropped = engine.embed_batcher.stats.batches, engine.embed_batcher.stats.dropped_items
        with inference_thread_held(engine):
            first, second = await asyncio.gather(
                client.post("/embed", json={"texts": ["one request"]}),
                client.post("/v1/embeddings", json={"input": ["another request", "and more"], "model": "m"}),
            )
            assert first.status_code == 504 and first.json()["type"] == "timeout"
            assert second.status_code == 504 and "REQUEST_TIMEOUT_S" in second.json()["error"]["message"]
        for _ in range(100):
            if engine.embed_batcher.queued_tokens == 0:
                break
            await asyncio.sleep(0.05)
        assert engine.embed_batcher.queued_tokens == 0
        # the batch already handed to the model ran; the one still queued never did
        assert engine.embed_batcher.stats.batches - batches == 1
        assert engine.embed_batcher.stats.dropped_items - dropped == 2
        assert (await client.post("/embed", json={"texts": ["after"]})).status_code == 200


async def test_work_past_the_admission_limit_is_429_with_retry_after(app_client: AppClient) -> None:
    async with app_client(max_queue_wait_s=0.05, ui_enabled=False) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        with inference_thread_held(engine):
            waiting = asyncio.ensure_future(client.post("/embed", json={"texts": ["queued first"]}))
            while engine.embed_batcher.queued_tokens == 0:
                await asyncio.sleep(0.01)
            r = await client.post("/embed", json={"texts": ["word " * 60] * 64})
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert r.json()["type"] == "overloaded"
            r = await client.post("/v1/embeddings", json={"input": ["word " * 60] * 64, "model": "m"})
            assert r.status_code == 429 and "retry-after" in r.headers and "error" in r.json()
        assert (await waiting).status_code == 200


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"query": "q", "passages": ["p"] * 6}, 413, "at most 5 per rerank"),
        ({"query": "q", "passages": ["p", "q"], "top_k": 0}, 422, "top_k"),
        ({"query": "q", "passages": ["p", "q"], "top_k": -3}, 422, "top_k"),
        ({"query": "q", "passages": []}, 422, "must not be empty"),
    ],
)
async def test_rerank_bounds(app_client: AppClient, body: dict[str, object], status: int, fragment: str) -> None:
    async with app_client(max_passages_per_rerank=5, ui_enabled=False) as client:
        r = await client.post("/rerank", json=body)
        assert r.status_code == status and fragment in r.json()["detail"], r.text


async def test_top_k_above_the_passage_count_returns_them_all(minilm: httpx.AsyncClient) -> None:
    for top_k in (3, 10**6, 2**62):
        r = await minilm.post("/rerank", json={"query": "q", "passages": ["a", "b", "c"], "top_k": top_k})
        assert r.status_code == 200 and len(r.json()["results"]) == 3, (top_k, r.text)
    r = await minilm.post("/rerank", json={"query": "q", "passages": ["a"], "top_k": 2**70})
    assert r.status_code == 422 and r.json()["param"] == "top_k"
