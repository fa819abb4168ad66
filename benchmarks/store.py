"""The embedded store, both engines side by side: qdrant-client local mode (the old default) vs Qdrant Edge.

    .venv/bin/python benchmarks/store.py                      # 10k and 100k chunks, both engines
    .venv/bin/python benchmarks/store.py --sizes 10000 --million   # + 1M on Edge with on-disk vectors

Each (engine, size) runs in its own subprocess, so RSS is that store's alone: upsert rate (batches of 256,
dense + BM25 sparse, as ingest writes; local mode above --local-sparse-max dense only, as the old default
stored), query p50/p95 for dense and hybrid (limit 50, the rerank candidate
pool; the query's embedding excluded: synthetic 384-d vectors), process RSS, reopen time (open + first
query), and on Edge the HNSW build (`optimize()`) with the indexed query latency, under a time budget
(`--index-budget`, default 300 s; a build that overruns is reported as such). Payloads are real-ish technical
text (~200 characters) with the BM25 vectors computed client-side as `embedrank ingest` does (timed apart).
Results: benchmarks/results/store.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from integrations.qdrant import bm25  # noqa: E402
from integrations.qdrant.store import QdrantTarget, Row, Store, point_id  # noqa: E402

DIM = 384
BATCH = 256
QUERIES = 60
LIMIT = 50
_SYLLABLES = ["ka", "lo", "mer", "sti", "van", "qu", "dre", "pol", "tin", "gra", "shu", "ben", "cor", "ix", "ul"]
_TECH = ["timeout", "retry", "buffer", "socket", "handler", "config", "cluster", "replica", "shard", "token",
         "batch", "cache", "index", "query", "vector", "schema", "worker", "queue", "stream", "session"]  # fmt: skip


_VOCAB_RNG = random.Random(12345)
# A fixed 6,000-word vocabulary (Zipf-ish draws below) so BM25 statistics look like a real corpus.
_VOCAB = _TECH + ["".join(_VOCAB_RNG.choice(_SYLLABLES) for _ in range(_VOCAB_RNG.randint(2, 4))) for _ in range(6000)]


def _words(rng: random.Random, n: int) -> list[str]:
    return [_VOCAB[min(int(rng.paretovariate(0.8)) - 1, len(_VOCAB) - 1)] for _ in range(n)]


def text(i: int) -> str:
    """~200 characters: words, an error code, an option name and an identifier unique-ish per chunk."""
    rng = random.Random(i)
    words = _words(rng, 24)
    words.insert(rng.randrange(len(words)), f"E{rng.randrange(10000):04d}")
    words.insert(rng.randrange(len(words)), f"--{words[0]}-{words[1]}")
    words.insert(rng.randrange(len(words)), f"{words[2]}_{words[3]}_id")
    return " ".join(words)[:220]


def vectors(start: int, n: int) -> np.ndarray:
    block = np.random.default_rng(start).standard_normal((n, DIM)).astype(np.float32)
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def rows(start: int, n: int) -> tuple[list[Row], float]:
    """Rows start..start+n and the seconds spent computing their BM25 vectors."""
    dense = vectors(start, n)
    texts = [text(i) for i in range(start, start + n)]
    began = time.perf_counter()
    sparse = bm25.embed_documents(texts)
    spent = time.perf_counter() - began
    out = [
        Row(point_id(f"/bench/doc{i // 20}.md", i % 20), dense[k].tolist(), sparse[k],
            {"text": texts[k], "metadata": {"source": f"/bench/doc{i // 20}.md", "chunk_index": i % 20}})
        for k, i in enumerate(range(start, start + n))
    ]  # fmt: skip
    return out, spent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_engine(engine: str, folder: Path, on_disk: bool = False, sparse: bool = True) -> Store:
    target = QdrantTarget(path=str(folder))
    if engine == "edge":
        from integrations.qdrant.store_edge import EdgeStore

        return EdgeStore(target, "bench", on_disk=on_disk)
    from qdrant_client import QdrantClient, models

    from integrations.qdrant.store_client import ClientStore

    client = QdrantClient(path=str(folder))
    if not sparse and not client.collection_exists("bench"):
        # The old default as it was: dense only (local mode's sparse vectors are pure Python and slow).
        client.create_collection("bench", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    return ClientStore(target, "bench", client, indexes=False)


def latencies(store: Store, mode: str, n: int = QUERIES) -> dict[str, float]:
    rng = random.Random(7)
    times = []
    qv = vectors(10**9, n)
    for k in range(n):
        sparse = bm25.embed_query(" ".join(_words(rng, 2)) + f" E{rng.randrange(10000):04d}")
        began = time.perf_counter()
        found = store.search(qv[k].tolist(), sparse, mode, LIMIT)  # type: ignore[arg-type]
        times.append(time.perf_counter() - began)
        assert found, "a query found nothing"
    times.sort()
    return {"p50_ms": round(statistics.median(times) * 1000, 2), "p95_ms": round(times[int(0.95 * (n - 1))] * 1000, 2)}


def one(engine: str, size: int, folder: Path, out: Path, on_disk: bool, sparse: bool) -> None:
    """Runs in a subprocess; writes partial results to `out` after every step (a killed build keeps the rest)."""
    result: dict[str, Any] = {"engine": engine, "chunks": size, "on_disk": on_disk, "bm25_vectors": sparse}

    def save() -> None:
        out.write_text(json.dumps(result))

    store = open_engine(engine, folder, on_disk, sparse)
    store.ensure(DIM)
    upsert_s = bm25_s = 0.0
    for start in range(0, size, BATCH):
        batch, spent = rows(start, min(BATCH, size - start))
        bm25_s += spent
        began = time.perf_counter()
        store.upsert(batch)
        upsert_s += time.perf_counter() - began
        result |= {"upserted": start + len(batch), "upsert_s": round(upsert_s, 2)}
        if start % (BATCH * 40) == 0:
            save()
    assert store.count() == size
    result |= {"upsert_s": round(upsert_s, 2), "upsert_per_s": round(size / upsert_s), "bm25_embed_s": round(bm25_s, 2)}
    result["dense"] = latencies(store, "dense")
    if sparse:
        result["hybrid"] = latencies(store, "hybrid")
    result["rss_mb"] = round(rss_mb())
    save()
    store.close()
    began = time.perf_counter()
    store = open_engine(engine, folder, on_disk, sparse)
    latencies(store, "dense", 1)
    result["reopen_s"] = round(time.perf_counter() - began, 2)
    result["rss_after_reopen_mb"] = round(rss_mb())
    save()
    if engine == "edge":
        result["index_build_s"] = None  # stays None if the parent kills an overrunning build
        save()
        began = time.perf_counter()
        store.optimize()
        result["index_build_s"] = round(time.perf_counter() - began, 1)
        result["dense_indexed"] = latencies(store, "dense")
        result["hybrid_indexed"] = latencies(store, "hybrid")
        result["rss_indexed_mb"] = round(rss_mb())
        save()
    store.close()


def run(engine: str, size: int, budget: float, on_disk: bool = False, sparse: bool = True) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"store-{engine}-{size}-"))
    out = folder.with_suffix(".json")
    argv = [sys.executable, __file__, "--one", engine, str(size), str(folder), str(out)]
    argv += (["--on-disk"] if on_disk else []) + ([] if sparse else ["--dense-only"])
    began = time.perf_counter()
    try:
        subprocess.run(argv, timeout=budget, check=True)
        status = "done"
    except subprocess.TimeoutExpired:
        status = f"stopped after {budget:.0f} s (budget)"
    except subprocess.CalledProcessError as exc:
        status = f"failed (exit {exc.returncode})"
    result = json.loads(out.read_text()) if out.exists() else {"engine": engine, "chunks": size}
    result |= {"status": status, "wall_s": round(time.perf_counter() - began, 1)}
    shutil.rmtree(folder, ignore_errors=True)
    out.unlink(missing_ok=True)
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--engines", nargs="+", default=["local-mode", "edge"])
    parser.add_argument("--index-budget", type=float, default=300.0, help="seconds per run beyond the upserts")
    parser.add_argument("--million", action="store_true", help="also 1M chunks on Edge with on-disk vectors")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "store.json"))
    parser.add_argument("--one", nargs=4, metavar=("ENGINE", "SIZE", "FOLDER", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--on-disk", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dense-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--local-sparse-max", type=int, default=10_000,
        help="largest size at which local mode also stores BM25 vectors (its sparse upserts run ~77/s at 10k)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.one:
        engine, size, folder, out = args.one
        one(engine, int(size), Path(folder), Path(out), args.on_disk, not args.dense_only)
        return
    results = []
    for size in args.sizes:
        for engine in args.engines:
            # Local mode's upserts alone take minutes at 100k: its budget covers them, Edge's covers the build.
            local = engine == "local-mode"
            budget = args.index_budget + (size / 100 if local else size / 2000)
            results.append(run(engine, size, budget, sparse=not local or size <= args.local_sparse_max))
    if args.million:
        results.append(run("edge", 1_000_000, args.index_budget + 900, on_disk=True))
    Path(args.out).write_text(json.dumps({"cpu_count": os.cpu_count(), "limit": LIMIT, "results": results}, indent=2))


if __name__ == "__main__":
    main()
