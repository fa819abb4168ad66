"""Closed-loop HTTP load: N concurrent clients, each sends its next request as soon as the last one answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from benchmarks.servers import Server

Check = Callable[[Any], None]


@dataclass
class Request:
    """One HTTP call: path, JSON body, and the texts / tokens it carries (for throughput)."""

    path: str
    body: dict[str, Any]
    texts: int
    tokens: int
    check: Check | None = None


@dataclass
class LoadResult:
    """What one scenario measured on one server."""

    requests: int = 0
    texts: int = 0
    tokens: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    server_headers: list[dict[str, float]] = field(default_factory=list)

    @property
    def texts_per_s(self) -> float:
        return self.texts / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def texts_per_cpu_s(self) -> float:
        """Texts per second of the server's own CPU: robust to other load on a shared machine."""
        return self.texts / self.server_cpu_s if self.server_cpu_s else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index] * 1000


_TIMING_HEADERS = ("x-tokenization-time", "x-queue-time", "x-inference-time")


# One call: (path, body) -> (status, headers, body bytes).
Post = Callable[[str, bytes], Awaitable[tuple[int, Mapping[str, str], bytes]]]


async def run_load(
    server: Server, requests: list[Request], concurrency: int, *, warmup: int = 0, client: str = "aiohttp"
) -> LoadResult:
    """Send `requests` (in order, shared by `concurrency` clients); the first `warmup` are not counted.

    aiohttp by default: on 2 shared cores httpx's own CPU per request (~2.7 ms, measured) took a
    fifth of a core from the server under test; aiohttp needs several times less.
    """
    async with _client(server.url, concurrency, client) as post:
        if warmup:
            await _drive(post, requests[:warmup], concurrency, LoadResult())
        result = LoadResult()
        cpu, server_cpu = time.process_time(), server.cpu_seconds()
        started = time.perf_counter()
        await _drive(post, requests[warmup:], concurrency, result)
        result.seconds = time.perf_counter() - started
        result.client_cpu_s = time.process_time() - cpu
        result.server_cpu_s = server.cpu_seconds() - server_cpu
    return result


@asynccontextmanager
async def _client(base_url: str, concurrency: int, kind: str) -> AsyncIterator[Post]:
    if kind == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=600) as client:

            async def post_httpx(path: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
                response = await client.post(path, content=body, headers=_JSON)
                return response.status_code, response.headers, response.content

            yield post_httpx
        return
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:

        async def post_aiohttp(path: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
            async with session.post(path, data=body, headers=_JSON) as response:
                return response.status, response.headers, await response.read()

        yield post_aiohttp


async def _drive(post: Post, requests: list[Request], concurrency: int, result: LoadResult) -> None:
    queue = iter(requests)

    async def worker() -> None:
        for request in queue:  # a shared iterator: each request is taken by exactly one worker
            started = time.perf_counter()
            status, headers, content = await post(request.path, orjson.dumps(request.body))
            elapsed = time.perf_counter() - started
            if status != 200:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1
                continue
            if request.check is not None:
                request.check(orjson.loads(content))
            result.requests += 1
            result.texts += request.texts
            result.tokens += request.tokens
            result.latencies.append(elapsed)
            if _TIMING_HEADERS[0] in headers:
                result.server_headers.append({h: float(headers[h]) for h in _TIMING_HEADERS})

    await asyncio.gather(*(worker() for _ in range(concurrency)))


_JSON = {"content-type": "application/json"}


def vectors_check(count: int) -> Check:
    """A response must carry one vector per text: a failed or short answer is not throughput."""

    def check(body: Any) -> None:
        if len(body["vectors"]) != count:
            raise RuntimeError(f"expected {count} vectors, got {len(body['vectors'])}")

    return check


def results_check(count: int) -> Check:
    def check(body: Any) -> None:
        if len(body["results"]) != count:
            raise RuntimeError(f"expected {count} rerank results, got {len(body['results'])}")

    return check
