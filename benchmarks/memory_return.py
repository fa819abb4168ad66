"""Does memory come back after a burst? Server RSS idle after warm-up, at the burst's peak, and after it,
with the defaults, with the heap trim off (MEMORY_TRIM_IDLE_S=0), and with bulk batches run whole
(BULK_SLICE_MS=0: one 4096-token pass holds ~4x the activations of a 50 ms slice), in one run.

    python benchmarks/memory_return.py            # prints a table, writes benchmarks/results/memory_return.json
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.servers import server

RESULTS = Path(__file__).resolve().parent / "results" / "memory_return.json"
# No cache (it would hold the burst's vectors on purpose), no console: the model and its batches alone.
COMMON = {"EMBED_CACHE_MB": "0", "UI_ENABLED": "false", "ACCESS_LOG": "false", "TORCH_DTYPE": "float32"}


def passages(seed: int, count: int = 64, words: int = 300) -> list[str]:
    """Long, distinct passages: each fills a 256-token row, so batches are as big as the budget allows."""
    return [" ".join(f"w{seed}x{i}y{j}" for j in range(words)) for i in range(count)]


def measure(
    trim_idle_s: float, slice_ms: float, clients: int = 4, rounds: int = 2, settle_s: float = 4.0
) -> dict[str, Any]:
    """RSS (MB) idle after warm-up, the highest seen during the burst, and `settle_s` after it."""
    env = {**COMMON, "MEMORY_TRIM_IDLE_S": str(trim_idle_s), "BULK_SLICE_MS": str(slice_ms)}
    with server(env) as running:
        time.sleep(1.0)
        idle = running.rss_mb()

        def client(seed: int) -> None:
            with httpx.Client(base_url=running.url, timeout=300) as http:
                for r in range(rounds):
                    http.post("/embed", json={"texts": passages(seed * 100 + r)}).raise_for_status()

        peak = idle
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(client, seed) for seed in range(clients)]
            while not all(f.done() for f in futures):
                peak = max(peak, running.rss_mb())
                time.sleep(0.2)
            for future in futures:
                future.result()
        time.sleep(settle_s)
        after = running.rss_mb()
        trims = httpx.get(f"{running.url}/health").json()["stats"]["heap_trims"]
    return {"trim_idle_s": trim_idle_s, "bulk_slice_ms": slice_ms,
            "idle_mb": round(idle), "peak_mb": round(peak), "after_mb": round(after),
            "after_over_idle": round(after / idle, 3), "heap_trims": trims}  # fmt: skip


def main() -> None:
    rows = [measure(1.0, 50.0), measure(0.0, 50.0), measure(1.0, 0.0)]
    print("| MEMORY_TRIM_IDLE_S | BULK_SLICE_MS | idle MB | peak MB | after MB | after / idle | trims |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['trim_idle_s']:g} | {row['bulk_slice_ms']:g} | {row['idle_mb']} | {row['peak_mb']} "
              f"| {row['after_mb']} "
              f"| {row['after_over_idle']:.3f} | {row['heap_trims']} |")  # fmt: skip
    RESULTS.write_text(json.dumps({"rows": rows, "when": time.strftime("%Y-%m-%d %H:%M")}, indent=2) + "\n")


if __name__ == "__main__":
    main()
