"""torch fp32 vs ONNX fp32 vs ONNX int8 through the real server under concurrent load (a script, not a test).

Starts three real servers on 127.0.0.1 (tests/live_server.py) on the same model, then measures
them in interleaved rounds, so a shared, noisy CPU slows all three alike and the ratios hold:

    python -m benchmarks.onnx_vs_torch                 # embedded all-MiniLM-L6-v2
    python -m benchmarks.onnx_vs_torch --short 4096 --passages 256 --rounds 5 --concurrency 16

Workloads: short texts (~14 tokens, 4 per request, like chat queries) and ~220-token passages
(8 per request, like ingestion). Every text is unique and the embedding cache is off, so every
item runs through the model. Accuracy: per-row cosine of each backend's vectors to torch's on a
fixed sentence set and on passages. Results: a Markdown table on stdout and
benchmarks/results/onnx_vs_torch.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.live_server import live_server  # noqa: E402

WORDS = [
    *[
        "search",
        "vector",
        "database",
        "local",
        "server",
        "private",
        "documents",
        "model",
        "embedding",
        "query",
        "passage",
        "rank",
        "fast",
    ],
    *[
        "memory",
        "token",
        "text",
        "python",
        "rust",
        "cloud",
        "storage",
        "index",
        "cluster",
        "network",
        "latency",
        "answer",
        "question",
    ],
    *[
        "customer",
        "invoice",
        "weather",
        "garden",
        "kitchen",
        "travel",
        "music",
        "history",
        "science",
        "energy",
        "market",
        "policy",
    ],
]

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a white horse on an enclosed ground.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "Someone in a gorilla costume is playing a set of drums.",
    "What is the capital of France?",
    "Qdrant is a vector database written in Rust.",
    "How do I reset my password?",
    "The weather today is sunny with a light breeze.",
    "Embeddings map text to vectors.",
    "The stock market fell sharply on Monday.",
    "I love pizza with extra cheese.",
    "Reranking improves search precision for retrieval augmented generation.",
    "Where can I find the invoice for my last order?",
]
SINGLE_WORDS = ["ok", "hello", "thanks", "qdrant"]

BACKENDS = {
    "torch fp32": {"BACKEND": "torch"},
    "onnx fp32": {"BACKEND": "onnx", "ONNX_QUANTIZE": "none"},
    "onnx int8": {"BACKEND": "onnx", "ONNX_QUANTIZE": "int8"},
}


def short_text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "?"


def passage(rng: random.Random) -> str:
    return ". ".join(" ".join(rng.choice(WORDS) for _ in range(11)).capitalize() for _ in range(18)) + "."


def server_pid(base: str) -> int:
    """The pid of the server listening at `base` (found by the PORT in its environment)."""
    needle = f"PORT={base.rsplit(':', 1)[1]}".encode()
    for proc in Path("/proc").iterdir():
        try:
            if (
                proc.name.isdigit()
                and needle in (proc / "environ").read_bytes().split(b"\0")
                and b"service.cli" in (proc / "cmdline").read_bytes()
            ):
                return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"no server process for {base}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(base: str, make: Any, per_request: int, concurrency: int, items: int, seed: int) -> tuple[float, float]:
    """(items per wall-clock second, items per server CPU-second) for `items` unique texts posted by
    `concurrency` clients back to back. CPU-seconds are the steadier figure on a shared machine."""
    rng = random.Random(seed)
    requests = [[make(rng) for _ in range(per_request)] for _ in range(max(1, items // per_request))]
    total = len(requests) * per_request
    pid = server_pid(base)
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        # Warm the path (tokenizer caches, arena growth) outside the timed window.
        await client.post("/embed", json={"texts": [make(rng) for _ in range(per_request)]})

        async def worker() -> None:
            while requests:
                r = await client.post("/embed", json={"texts": requests.pop()})
                r.raise_for_status()

        started, cpu_started = time.perf_counter(), cpu_seconds(pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_started
    return total / elapsed, total / max(cpu, 1e-9)


def vectors(base: str, texts: list[str]) -> np.ndarray:
    r = httpx.post(f"{base}/embed", json={"texts": texts}, timeout=120)
    r.raise_for_status()
    return np.array(r.json()["vectors"], dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=2048, help="short texts per measurement")
    parser.add_argument("--passages", type=int, default=192, help="~220-token passages per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients posting at once")
    parser.add_argument("--model", default="", help="MODEL_NAME (default: the embedded all-MiniLM-L6-v2)")
    parser.add_argument("--cache-dir", default="", help="ONNX_CACHE_DIR (default: a temporary folder)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "onnx_vs_torch.json"))
    args = parser.parse_args()

    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="embedrank-onnx-bench-")
    common = {"EMBED_CACHE_MB": "0", "UI_ENABLED": "false", "ACCESS_LOG": "false", "ONNX_CACHE_DIR": cache_dir}
    if args.model:
        common["MODEL_NAME"] = args.model
    rng = random.Random(7)
    passages = [passage(rng) for _ in range(16)]
    workloads = {"short": (short_text, 4, args.short), "passage": (passage, 8, args.passages)}
    # rates[backend][workload] = [(wall items/s, items per server CPU-second) per round]
    rates: dict[str, dict[str, list[tuple[float, float]]]] = {name: {w: [] for w in workloads} for name in BACKENDS}
    with ExitStack() as stack:
        bases = {}
        for name, env in BACKENDS.items():  # one at a time: the ONNX exports must not race
            started = time.perf_counter()
            bases[name] = stack.enter_context(live_server(env={**common, **env}, timeout_s=600))
            print(f"{name}: ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        info = httpx.get(f"{bases['torch fp32']}/health").json()
        sets = [("sentences", SENTENCES), ("one word", SINGLE_WORDS), ("passages", passages)]
        reference = {key: vectors(bases["torch fp32"], texts) for key, texts in sets}
        accuracy = {
            name: {key: float(np.min(np.sum(vectors(base, texts) * reference[key], axis=1))) for key, texts in sets}
            for name, base in bases.items()
        }
        order = list(bases)
        for round_ in range(args.rounds):
            for workload, (make, per_request, items) in workloads.items():
                for name in order:
                    wall, per_cpu = asyncio.run(load(bases[name], make, per_request, args.concurrency, items, round_))
                    rates[name][workload].append((wall, per_cpu))
                    print(
                        f"round {round_ + 1} {workload:7s} {name}: {wall:7.1f}/s, {per_cpu:7.1f}/CPU-s", file=sys.stderr
                    )
            order = order[1:] + order[:1]  # rotate who goes first
    report_table(rates, accuracy, f"{info.get('model')}; {args.concurrency} concurrent clients; {args.rounds} rounds")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": info.get("model"), "args": vars(args), "rates": rates, "accuracy": accuracy}))


def report_table(
    rates: dict[str, dict[str, list[tuple[float, float]]]], accuracy: dict[str, dict[str, float]], title: str
) -> None:
    """Medians of the per-round ratios to torch (each round's backends ran back to back, so they
    shared that moment's machine load)."""

    def ratio(name: str, workload: str, column: int) -> float:
        pairs = zip(rates[name][workload], rates["torch fp32"][workload], strict=True)
        return statistics.median(mine[column] / torch[column] for mine, torch in pairs)

    print(f"\n{title}\n")
    print(
        "| backend | short texts/s | × torch | × torch per CPU-s | passages/s | × torch | × torch per CPU-s "
        "| min cos sentences | min cos passages | min cos 1-word |"
    )
    print("| --- " + "| ---: " * 9 + "|")
    for name in BACKENDS:
        short = statistics.median(wall for wall, _ in rates[name]["short"])
        long = statistics.median(wall for wall, _ in rates[name]["passage"])
        a = accuracy[name]
        print(
            f"| {name} | {short:.0f} | {ratio(name, 'short', 0):.2f} | {ratio(name, 'short', 1):.2f} | {long:.1f} "
            f"| {ratio(name, 'passage', 0):.2f} | {ratio(name, 'passage', 1):.2f} | {a['sentences']:.4f} "
            f"| {a['passages']:.4f} | {a['one word']:.4f} |"
        )


if __name__ == "__main__":
    main()
