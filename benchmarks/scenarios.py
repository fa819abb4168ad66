"""The benchmark scenarios: each measures embedrank and its baselines on the same texts, in one run."""

from __future__ import annotations

import asyncio
import http.client
import time
from dataclasses import dataclass
from typing import Any

import orjson
import torch

from benchmarks.baselines import forward_times, median_ms, offline_encode
from benchmarks.load import LoadResult, Request, results_check, run_load, vectors_check
from benchmarks.servers import Server
from benchmarks.workload import Workload


@dataclass
class Sizes:
    """How much work each scenario does (quick mode is ~5x smaller)."""

    single_requests: int
    concurrent_requests: int
    mixed_requests: int
    mixed_batch: int
    rerank_requests: int
    passages: int = 100
    passage_tokens: int = 220


QUICK = Sizes(single_requests=30, concurrent_requests=320, mixed_requests=16, mixed_batch=16, rerank_requests=2)
FULL = Sizes(single_requests=200, concurrent_requests=1600, mixed_requests=80, mixed_batch=16, rerank_requests=6)


@dataclass
class Context:
    workload: Workload
    model: Any  # in-process SentenceTransformer (offline ceiling)
    encoder: Any  # in-process service TorchEncoder (bare forward time)
    servers: dict[str, Server]
    sizes: Sizes
    max_tokens: int
    server_threads: int  # the in-process forward runs with the servers' thread count
    client: str  # load generator: aiohttp or httpx


def embed_requests(texts: list[str], lengths: list[int], per_request: int, max_tokens: int) -> list[Request]:
    out = []
    for i in range(0, len(texts), per_request):
        chunk = texts[i : i + per_request]
        tokens = sum(min(n, max_tokens) for n in lengths[i : i + per_request])
        out.append(Request("/embed", {"texts": chunk}, len(chunk), tokens, vectors_check(len(chunk))))
    return out


def _load(name: str, base: Server, requests: list[Request], concurrency: int, warmup: int, client: str) -> LoadResult:
    result = asyncio.run(run_load(base, requests, concurrency, warmup=warmup, client=client))
    print(
        f"#   {name:<16} {result.texts_per_s:8.1f} texts/s {result.tokens_per_s:8.0f} tokens/s "
        f"p50 {result.percentile_ms(50):8.1f} ms  {result.texts_per_cpu_s:7.1f} texts/server-cpu-s "
        f"client cpu {result.client_cpu_s / result.seconds:.0%}",
        flush=True,
    )
    return result


def _offline(ctx: Context, texts: list[str], tokens: int, results: dict[str, Any], when: str) -> None:
    """Offline encode at torch's default threads and, if they differ, at the servers' thread count:
    the ceiling is whichever is faster (on a busy shared machine fewer threads can win)."""
    default = torch.get_num_threads()
    for key, threads in (("offline", default), ("offline_server_threads", ctx.server_threads)):
        if key != "offline" and threads == default:
            continue
        torch.set_num_threads(threads)
        result = offline_encode(ctx.model, texts, tokens)
        results[f"{key}_{when}"] = result
        print(
            f"#   {f'offline b32 {threads}t':<16} {result.texts_per_s:8.1f} texts/s {result.tokens_per_s:8.0f} "
            f"tokens/s {' ' * 16}{result.texts / result.cpu_s:7.1f} texts/cpu-s",
            flush=True,
        )
    torch.set_num_threads(default)


def single_query(ctx: Context, systems: list[str]) -> dict[str, Any]:
    """1 client, one short query per request on an idle server, paired with the in-process forward.

    Each HTTP request alternates with one in-process forward of a different text of the same
    length, so both see the same machine load; a pause between requests keeps the server idle.
    """
    n = ctx.sizes.single_requests
    lengths = ctx.workload.short_lengths(2 * n + 20)
    texts = ctx.workload.texts(lengths)
    forward: list[float] = []
    http: dict[str, list[float]] = {name: [] for name in systems}
    # the stdlib's keep-alive connection: the leanest client, so its own time barely counts
    clients = {name: _Connection(ctx.servers[name].url) for name in systems}
    offline_threads = torch.get_num_threads()
    torch.set_num_threads(ctx.server_threads)
    try:
        for name, client in clients.items():  # warm connection and code paths
            for text in texts[-20:]:
                client.post("/embed", orjson.dumps({"texts": [text + " " + name]}))
        for i in range(n):
            forward += forward_times(ctx.encoder, texts[2 * i], 1)
            for name, client in clients.items():
                time.sleep(0.01)
                body = orjson.dumps({"texts": [f"{texts[2 * i + 1]} {name}"]})
                started = time.perf_counter()
                client.post("/embed", body)
                http[name].append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(offline_threads)
        for client in clients.values():
            client.close()
    for name, values in http.items():
        print(f"#   {name:<16} p50 {median_ms(values):7.2f} ms   in-process forward p50 {median_ms(forward):7.2f} ms")
    return {"forward_s": forward, "http_s": http, "tokens": sum(lengths[: 2 * n]) / (2 * n)}


def concurrent_short(ctx: Context, systems: list[str], concurrency: int = 32) -> dict[str, Any]:
    """32 clients, each sending one short text per request."""
    n = ctx.sizes.concurrent_requests
    warmup = concurrency * 2
    lengths = ctx.workload.short_lengths(n + warmup)
    texts = ctx.workload.texts(lengths)
    requests = embed_requests(texts, lengths, 1, ctx.max_tokens)
    measured = texts[warmup:]
    tokens = sum(lengths[warmup:])
    results: dict[str, Any] = {}
    _offline(ctx, measured, tokens, results, "before")
    for name in systems:
        results[name] = _load(name, ctx.servers[name], requests, concurrency, warmup, ctx.client)
    _offline(ctx, measured, tokens, results, "after")
    return results


def mixed_batches(ctx: Context, systems: list[str], shape: str, concurrency: int = 8) -> dict[str, Any]:
    """8 clients, each sending batches of texts of 10-400 tokens (the model keeps the first 256)."""
    per = ctx.sizes.mixed_batch
    n = ctx.sizes.mixed_requests * per
    warmup = concurrency
    lengths = ctx.workload.mixed_lengths(n + warmup * per, shape)
    texts = ctx.workload.texts(lengths)
    requests = embed_requests(texts, lengths, per, ctx.max_tokens)
    measured = texts[warmup * per :]
    tokens = sum(min(x, ctx.max_tokens) for x in lengths[warmup * per :])
    results: dict[str, Any] = {}
    _offline(ctx, measured, tokens, results, "before")
    for name in systems:
        results[name] = _load(name, ctx.servers[name], requests, concurrency, warmup, ctx.client)
    _offline(ctx, measured, tokens, results, "after")
    return results


def rerank_passages(ctx: Context, systems: list[str]) -> dict[str, Any]:
    """1 client: rerank 1 query x 100 fresh ~220-token passages per request (no cache hits)."""
    sizes = ctx.sizes
    count = sizes.rerank_requests + 1
    requests = []
    for _ in range(count):
        query = ctx.workload.text(14)
        passages = ctx.workload.texts([sizes.passage_tokens] * sizes.passages)
        body = {"query": query, "passages": passages, "top_k": sizes.passages, "use_cross_encoder": False}
        tokens = 14 + sizes.passage_tokens * sizes.passages
        requests.append(Request("/rerank", body, sizes.passages + 1, tokens, results_check(sizes.passages)))
    all_texts = [t for r in requests[1:] for t in [r.body["query"], *r.body["passages"]]]
    all_tokens = sum(r.tokens for r in requests[1:])
    results: dict[str, Any] = {}
    _offline(ctx, all_texts, all_tokens, results, "before")
    for name in systems:
        results[name] = _load(name, ctx.servers[name], requests, 1, 1, ctx.client)
    _offline(ctx, all_texts, all_tokens, results, "after")
    # the same passages again with new queries: the embedding cache answers them
    cached = [
        Request("/rerank", {**r.body, "query": ctx.workload.text(14)}, r.texts, r.tokens, r.check) for r in requests
    ]
    results["embedrank_cached"] = _load("embedrank cached", ctx.servers["embedrank"], cached, 1, 1, ctx.client)
    return results


_JSON = {"content-type": "application/json"}


class _Connection:
    """One keep-alive HTTP/1.1 connection (http.client): POST JSON, read the whole answer."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=60)

    def post(self, path: str, body: bytes) -> bytes:
        try:
            self._conn.request("POST", path, body, _JSON)
            response = self._conn.getresponse()
        except (ConnectionError, http.client.HTTPException):  # keep-alive timed out while idle: reconnect
            self._conn.close()
            self._conn.request("POST", path, body, _JSON)
            response = self._conn.getresponse()
        content = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {content[:200]!r}")
        return content

    def close(self) -> None:
        self._conn.close()
