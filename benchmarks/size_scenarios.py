"""The model-size benchmark's loads on one server: single query, short queries, passages, rerank; plus memory."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import LoadResult, Request, results_check, run_load, vectors_check
from benchmarks.servers import Server


@dataclass
class SizeLoads:
    """How much each load sends (CPU defaults: 0.6B in fp32 runs only a few passages/s on 2 cores)."""

    single: int = 8
    short: int = 48
    short_clients: int = 16
    passages: int = 12
    passages_per_request: int = 4
    passage_clients: int = 4
    passage_tokens: int = 220
    rerank_requests: int = 1
    rerank_passages: int = 8


@dataclass
class Texts:
    """One load's texts as the client sends them and as the model sees them (prompt included)."""

    sent: list[str]
    seen: list[str]  # the server's formatted input: the offline ceiling encodes exactly these
    tokens: list[int]  # tokens of each `seen` text, special tokens included


def row(result: LoadResult) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "texts_per_s": result.texts_per_s,
        "tokens_per_s": result.tokens_per_s,
        "p50_ms": result.percentile_ms(50),
        "p99_ms": result.percentile_ms(99),
        "seconds": result.seconds,
        "server_cpu_s": result.server_cpu_s,
        "texts_per_cpu_s": result.texts_per_cpu_s,
        "client_cpu_share": result.client_cpu_s / result.seconds if result.seconds else 0.0,
        "errors": result.errors,
    }


def _embed(texts: Texts, per_request: int, input_type: str) -> list[Request]:
    out = []
    for i in range(0, len(texts.sent), per_request):
        chunk = texts.sent[i : i + per_request]
        body = {"texts": chunk, "input_type": input_type}
        out.append(
            Request("/embed", body, len(chunk), sum(texts.tokens[i : i + per_request]), vectors_check(len(chunk)))
        )
    return out


def _run(server: Server, requests: list[Request], clients: int, warmup: int) -> dict[str, Any]:
    result = asyncio.run(run_load(server, requests, clients, warmup=warmup))
    if result.errors:
        raise RuntimeError(f"{server.url} answered errors {result.errors}: see {server.log}")
    return row(result)


def single_query(server: Server, queries: Texts, warmup: int = 3) -> dict[str, Any]:
    """1 client, one short query per request, back to back: the latency a search box sees."""
    return _run(server, _embed(queries, 1, "query"), 1, warmup)


def short_queries(server: Server, queries: Texts, loads: SizeLoads) -> dict[str, Any]:
    """Many clients, one short query each (chat/search traffic); the first round is warm-up."""
    warmup = min(loads.short_clients, len(queries.sent) // 4)
    return _run(server, _embed(queries, 1, "query"), loads.short_clients, warmup)


def passages(server: Server, docs: Texts, loads: SizeLoads) -> dict[str, Any]:
    """A few clients posting batches of ~220-token documents (ingestion); first request per client warms up."""
    requests = _embed(docs, loads.passages_per_request, "document")
    return _run(server, requests, loads.passage_clients, min(loads.passage_clients, len(requests) // 4))


def rerank(server: Server, query: str, docs: list[str], loads: SizeLoads, cross_encoder: bool) -> dict[str, Any]:
    """1 client: 1 query x N passages per request, through the cross-encoder when one is loaded."""
    n = loads.rerank_passages
    warm = Request("/rerank", _rerank_body(query, docs[:2], cross_encoder), 2, 0, results_check(2))
    requests = [warm]
    for i in range(loads.rerank_requests):
        chunk = docs[2 + i * n : 2 + (i + 1) * n]
        requests.append(
            Request("/rerank", _rerank_body(query, chunk, cross_encoder), len(chunk), 0, results_check(len(chunk)))
        )
    result = _run(server, requests, 1, 1)
    result["method"] = "cross-encoder" if cross_encoder else "bi-encoder"
    result["passages_per_request"] = n
    return result


def _rerank_body(query: str, docs: list[str], cross_encoder: bool) -> dict[str, Any]:
    return {"query": query, "passages": docs, "top_k": len(docs), "use_cross_encoder": cross_encoder}


def process_memory(pid: int) -> dict[str, float]:
    """Resident memory of the server process now and at its peak (MiB, Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return {"rss_mib": fields.get("VmRSS", 0.0), "peak_rss_mib": fields.get("VmHWM", 0.0)}


def gpu_memory(pid: int) -> dict[str, Any]:
    """GPU memory from nvidia-smi: the server's own use where it lists processes, and the card's total."""
    out: dict[str, Any] = {}
    try:
        apps = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=False,
        ).stdout  # fmt: skip
        used = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": str(exc)}
    for line in apps.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(pid) and parts[1].isdigit():
            out["server_mib"] = int(parts[1])
    out["apps"] = apps.strip()
    if used.strip():
        first = [p.strip() for p in used.splitlines()[0].split(",")]
        out["card_used_mib"], out["card_total_mib"] = int(first[0]), int(first[1])
    return out
