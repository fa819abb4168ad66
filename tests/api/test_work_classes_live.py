"""Over real HTTP: queries stay fast and admitted while a bulk flood saturates the server and gets 429s;
the X-Embedrank-Priority header; per-class counters in /health and /metrics."""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import httpx
import pytest

from tests.api.test_overload_live import text_of
from tests.live_server import live_server

pytestmark = pytest.mark.slow

# Bulk requests of 48 texts of ~22 tokens (bulk above 200 tokens) from 24 clients are ~25k tokens queued: past
# a 2 s admission limit on a quiet machine too (so the flood surely gets 429s), and admitted bulk waits long
# enough (up to 2 s) that a query, which waits for one bulk batch, is clearly faster.
ENV = {"MAX_QUEUE_WAIT_S": "2", "REQUEST_TIMEOUT_S": "60", "UI_ENABLED": "false", "ACCESS_LOG": "false",
       "EMBED_CACHE_MB": "0", "INTERACTIVE_MAX_TOKENS": "200"}  # fmt: skip


async def test_queries_stay_fast_and_admitted_while_bulk_floods() -> None:
    rng = random.Random(3)
    with live_server(ENV) as base:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            await client.post("/embed", json={"texts": ["warm the connection pool"]})
            bulk_status: list[int] = []
            bulk_seconds: list[float] = []

            async def bulk_client() -> None:
                while True:  # ~1,060 tokens: bulk by size
                    body = {"texts": [text_of(rng, 20) for _ in range(48)]}
                    sent = time.perf_counter()
                    response = await client.post("/embed", json=body)
                    bulk_status.append(response.status_code)
                    if response.status_code == 200:
                        bulk_seconds.append(time.perf_counter() - sent)
                    else:
                        assert response.status_code == 429
                        await asyncio.sleep(float(response.headers["retry-after"]))  # as a polite client does

            flood = [asyncio.ensure_future(bulk_client()) for _ in range(24)]
            while len(bulk_status) < 3:  # the bulk queue is full and working
                await asyncio.sleep(0.05)
            query_seconds, query_status = [], []
            for _ in range(20):
                sent = time.perf_counter()
                response = await client.post("/embed", json={"texts": [text_of(rng, 8)]})
                query_seconds.append(time.perf_counter() - sent)
                query_status.append(response.status_code)
                await asyncio.sleep(0.05)
            waited = time.perf_counter()
            while len(bulk_seconds) < 2 and time.perf_counter() - waited < 120:  # bulk is served too
                await asyncio.sleep(0.1)
            for task in flood:
                task.cancel()
            await asyncio.gather(*flood, return_exceptions=True)
            stats = (await client.get("/health")).json()["stats"]["classes"]
            metrics = (await client.get("/metrics")).text
    assert query_status == [200] * 20, f"a bulk flood must not refuse queries: {query_status}"
    assert 429 in bulk_status, "the flood was meant to fill the bulk queue past MAX_QUEUE_WAIT_S"
    assert len(bulk_seconds) >= 2, "bulk work is still served"
    query_p50, bulk_p50 = statistics.median(query_seconds), statistics.median(bulk_seconds)
    # In one FIFO queue a query waits for the admitted bulk ahead (up to MAX_QUEUE_WAIT_S); here, one slice.
    assert query_p50 < bulk_p50 / 2, f"query p50 {query_p50:.3f}s vs bulk request p50 {bulk_p50:.3f}s"
    assert stats["interactive"]["batchers"]["embed"]["requests"] >= 20
    assert stats["bulk"]["admission"]["rejected"] >= 1 and stats["interactive"]["admission"]["rejected"] == 0
    assert 'embedrank_class_rejected_requests_total{class="bulk"}' in metrics
    assert 'embedrank_class_requests_total{batcher="embed",class="interactive"}' in metrics


async def test_the_priority_header_declares_the_class() -> None:
    with live_server(ENV) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            before = (await client.get("/health")).json()["stats"]["classes"]["bulk"]["admission"]["admitted"]
            small = {"input": ["one short text"], "model": "x"}
            ok = await client.post("/v1/embeddings", json=small, headers={"X-Embedrank-Priority": "bulk"})
            bad = await client.post("/v1/embeddings", json=small, headers={"X-Embedrank-Priority": "urgent"})
            after = (await client.get("/health")).json()["stats"]["classes"]["bulk"]["admission"]["admitted"]
    assert ok.status_code == 200 and after == before + 1
    assert bad.status_code == 400, "OpenAI's status for an invalid request, in its error body"
    assert "interactive, bulk" in bad.json()["error"]["message"], bad.json()
