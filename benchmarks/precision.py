"""Precision table: fp32 vs bf16 weights vs bf16 autocast vs ONNX fp32/int8, in-process, on one model (a script).

    python -m benchmarks.precision                  # embedded all-MiniLM-L6-v2, 2 threads
    python -m benchmarks.precision --rounds 5 --passages 128

Per variant: passages/s (~200-token passages, batches of 32), short texts/s (~12 tokens, batches of 32),
the lowest cosine of its vectors to fp32's on those texts, and nDCG@10 on benchmarks/data/retrieval.json
(40 passages, 20 queries, one relevant passage each). Rounds are interleaved over the variants, so a noisy
shared machine slows them alike; the best round of each counts. ONNX variants need the onnx extra and use
the export cache (the first run exports, once). Writes benchmarks/results/precision.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.calibration import min_cosine, native_bf16
from service.backends.registry import load_encoder
from service.config import Settings
from service.tokens.padding import pad_batch

REPO = Path(__file__).resolve().parent.parent
RETRIEVAL = REPO / "benchmarks" / "data" / "retrieval.json"
WORDS = [
    "model",
    "vector",
    "search",
    "index",
    "query",
    "passage",
    "retrieval",
    "server",
    "embedding",
    "token",
    "batch",
    "cache",
    "memory",
    "latency",
    "throughput",
    "engine",
    "request",
    "answer",
    "document",
    "language",
    "network",
    "database",
    "system",
    "python",
    "river",
    "mountain",
    "city",
]

Encode = Callable[[list[str]], NDArray[np.float32]]


def _texts(n: int, words: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{i} " + " ".join(rng.choice(WORDS) for _ in range(words)) for i in range(n)]


def _encoder_fn(encoder: Any, autocast: bool = False) -> Encode:
    text = encoder.text

    def encode(texts: list[str]) -> NDArray[np.float32]:
        out = []
        for start in range(0, len(texts), 32):
            batch = pad_batch(text.truncated(texts[start : start + 32]), text.pad_id, text.padding_side)
            with _autocast() if autocast else contextlib.nullcontext():
                out.append(encoder.encode(batch))
        return np.concatenate(out).astype(np.float32)

    return encode


@contextlib.contextmanager
def _autocast() -> Iterator[None]:
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield


def variants(settings: Settings) -> dict[str, Encode]:
    found: dict[str, Encode] = {"torch fp32": _encoder_fn(load_encoder("torch", settings))}
    found["torch bf16 autocast"] = _encoder_fn(load_encoder("torch", settings), autocast=True)
    bf16 = load_encoder("torch", settings)
    bf16.cast("bfloat16")  # type: ignore[attr-defined]
    found["torch bf16 weights"] = _encoder_fn(bf16)
    try:
        found["onnx fp32"] = _encoder_fn(load_encoder("onnx", settings.model_copy(update={"onnx_quantize": "none"})))
        found["onnx int8"] = _encoder_fn(load_encoder("onnx", settings.model_copy(update={"onnx_quantize": "int8"})))
    except Exception as exc:  # the onnx extra is optional: the table says what is missing
        print(f"ONNX variants skipped: {exc}")
    return found


def ndcg_at_10(encode: Encode) -> float:
    data = json.loads(RETRIEVAL.read_text())
    passages = data["passages"]
    docs = encode([p["text"] for p in passages])
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    scores = []
    for query in data["queries"]:
        q = encode([query["text"]])[0]
        ranked = np.argsort(-(docs @ (q / np.linalg.norm(q))))[:10]
        gains = [query["relevant"].get(passages[i]["id"], 0) for i in ranked]
        dcg = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(gains))
        ideal = sorted(query["relevant"].values(), reverse=True)[:10]
        idcg = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal))
        scores.append(dcg / idcg if idcg else 0.0)
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--short", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "precision.json")
    args = parser.parse_args()
    settings = Settings(torch_dtype="float32", num_threads=args.threads)
    found = variants(settings)
    passages, short = _texts(args.passages, 160, 1), _texts(args.short, 10, 2)
    reference = {kind: found["torch fp32"](texts) for kind, texts in (("passages", passages), ("short", short))}
    best: dict[str, dict[str, float]] = {name: {"passages": math.inf, "short": math.inf} for name in found}
    for encode in found.values():  # a first run of each shape builds kernels
        encode(passages[:32])
        encode(short[:32])
    for _ in range(args.rounds):
        for name, encode in found.items():
            for kind, texts in (("passages", passages), ("short", short)):
                started = time.perf_counter()
                encode(texts)
                best[name][kind] = min(best[name][kind], time.perf_counter() - started)
    rows = []
    base_ndcg = ndcg_at_10(found["torch fp32"])
    for name, encode in found.items():
        cosine = min(min_cosine(reference[k], encode(t)) for k, t in (("passages", passages), ("short", short)))
        ndcg = base_ndcg if name == "torch fp32" else ndcg_at_10(encode)
        rows.append({
            "variant": name,
            "passages_per_s": round(args.passages / best[name]["passages"], 1),
            "short_per_s": round(args.short / best[name]["short"], 1),
            "min_cosine_vs_fp32": round(cosine, 5),
            "ndcg_at_10": round(ndcg, 4),
            "ndcg_delta_vs_fp32": round(ndcg - base_ndcg, 4),
        })  # fmt: skip
    fp32 = rows[0]
    print("| variant | passages/s | x fp32 | short texts/s | x fp32 | min cosine vs fp32 | nDCG@10 (Δ fp32) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['variant']} | {row['passages_per_s']} | {row['passages_per_s'] / fp32['passages_per_s']:.2f} "
            f"| {row['short_per_s']} | {row['short_per_s'] / fp32['short_per_s']:.2f} | {row['min_cosine_vs_fp32']} "
            f"| {row['ndcg_at_10']} ({row['ndcg_delta_vs_fp32']:+.4f}) |"
        )
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2", "threads": args.threads, "rounds": args.rounds,
        "passages": args.passages, "passage_words": 160, "short": args.short, "native_bf16": native_bf16(),
        "cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg(),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
