"""The drills of benchmarks/peer.py: a flood at once, loop lag under a long cross-encoder request, the idle query."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from benchmarks.baselines import forward_times, median_ms
from benchmarks.servers import server
from benchmarks.workload import Workload

_QUIET = {"ACCESS_LOG": "false", "EMBED_CACHE_MB": "0"}


def flood(workload: Workload, requests: int) -> dict[str, Any]:
    """`requests` × 64 texts of ~256 tokens, all sent at once, default settings: only 200 and quick 429s."""
    bodies = [orjson.dumps({"texts": workload.texts([256] * 64)}) for _ in range(requests)]
    with server({**_QUIET, "UI_ENABLED": "false"}) as srv:

        async def run() -> list[tuple[int, float]]:
            connector = aiohttp.TCPConnector(limit=requests)
            async with aiohttp.ClientSession(srv.url, connector=connector, timeout=aiohttp.ClientTimeout(600)) as s:
                started = time.perf_counter()

                async def one(body: bytes) -> tuple[int, float]:
                    async with s.post("/embed", data=body, headers={"content-type": "application/json"}) as r:
                        await r.read()
                        return r.status, time.perf_counter() - started

                return await asyncio.gather(*(one(b) for b in bodies))

        results = asyncio.run(run())
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    refused = sorted(t for s, t in results if s == 429)
    done = sorted(t for s, t in results if s == 200)
    out = {
        "requests": requests,
        "statuses": statuses,
        "p99_429_s": refused[min(len(refused) - 1, int(0.99 * len(refused)))] if refused else None,
        "max_429_s": refused[-1] if refused else None,
        "max_200_s": done[-1] if done else None,
        "median_200_s": statistics.median(done) if done else None,
    }
    print(f"# flood: {out}", flush=True)
    return out


def loop_lag(workload: Workload) -> dict[str, Any]:
    """A ~100 KB query against 1000 passages on a cross-encoder, with single-text /embed calls beside it."""
    from tests.tiny_models import build_bert_cross_encoder

    folder = Path(tempfile.mkdtemp(prefix="embedrank-bench-ce-"))
    build_bert_cross_encoder(folder)
    env = {**_QUIET, "UI_ENABLED": "false", "CROSS_ENCODER_MODEL": str(folder), "RERANK_CANDIDATES": "1000"}
    query = workload.text(12_000)  # ~90 KB: under MAX_CHARS_PER_ITEM (100 000)
    passages = workload.texts([60] * 1000)
    with server(env) as srv:

        async def run() -> dict[str, Any]:
            async with aiohttp.ClientSession(srv.url, timeout=aiohttp.ClientTimeout(600)) as s:

                async def embed_ms() -> float:
                    started = time.perf_counter()
                    async with s.post("/embed", json={"texts": [workload.text(12)]}) as r:
                        await r.read()
                    return (time.perf_counter() - started) * 1000

                idle = [await embed_ms() for _ in range(20)]
                body = {"query": query, "passages": passages, "use_cross_encoder": True}
                big = asyncio.ensure_future(s.post("/rerank", json=body))
                during = []
                while not big.done():
                    during.append(await embed_ms())
                    await asyncio.sleep(0.02)
                async with await big as r:
                    rerank_status = r.status
                async with s.get("/health") as r:
                    lag = (await r.json())["stats"]["event_loop_lag_s"]
                return {
                    "rerank_status": rerank_status,
                    "idle_embed_p50_ms": statistics.median(idle),
                    "during_embed_p50_ms": statistics.median(during) if during else None,
                    "during_embed_max_ms": max(during) if during else None,
                    "probes": len(during),
                    "event_loop_lag_max_ms": lag * 1000,
                }

        out = asyncio.run(run())
    print(f"# loop lag: {out}", flush=True)
    return out


def single_idle(workload: Workload) -> dict[str, Any]:
    """Idle single queries through HTTP (console mounted, as users run it) vs the in-process forward;
    start-up time to /ready and resident memory."""
    from service.backends.torch.encoder import load_encoder
    from service.config import Settings

    encoder = load_encoder(Settings())
    with server(_QUIET) as srv:
        import httpx

        with httpx.Client(base_url=srv.url) as client:
            http_ms, fwd_ms = [], []
            for _ in range(40):
                text = workload.text(14)
                fwd_ms.append(median_ms(forward_times(encoder, text, 1)))
                started = time.perf_counter()
                client.post("/embed", json={"texts": [workload.text(14)]}).raise_for_status()
                http_ms.append((time.perf_counter() - started) * 1000)
        out = {
            "http_p50_ms": statistics.median(http_ms),
            "forward_p50_ms": statistics.median(fwd_ms),
            "ready_s": srv.ready_seconds,
            "rss_mb": srv.rss_mb(),
        }
    out["overhead_ms"] = out["http_p50_ms"] - out["forward_p50_ms"]
    print(f"# single: {out}", flush=True)
    return out
