"""Peak memory and time of BACKEND=onnx start-up (export, optimise, check; int8) for Qwen3 shapes of a few layers.

    python benchmarks/onnx_export_memory.py --layers 1 4 --limit-gib 10 --out /tmp/onnx_export_memory.json

Each start is a real `embedrank serve`; with a fresh --work folder the fp32 start is a real export
(later runs hit the cache). Its resident-set peak is polled
from /proc while it starts and the server is killed if it passes --limit-gib (a shared machine must
not run out of memory). The full 28-layer 0.6B shape's peak is then extrapolated linearly in the
parameter count, which the measured points follow.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from benchmarks import shape_models  # noqa: E402
from tests.live_server import free_port  # noqa: E402


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_once(model: Path, cache: Path, quantize: str, limit_mib: float, timeout_s: float) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ, "HF_HUB_OFFLINE": "1", "HOST": "127.0.0.1", "PORT": str(port), "MODEL_NAME": str(model),
        "BACKEND": "onnx", "ONNX_QUANTIZE": quantize, "ONNX_CACHE_DIR": str(cache), "UI_ENABLED": "false",
    }  # fmt: skip
    log = Path(tempfile.mkstemp(prefix="embedrank-onnx-mem-", suffix=".log")[1])
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"], cwd=REPO, env=env, stdout=handle, stderr=handle
        )
    started, peak, outcome = time.perf_counter(), 0.0, "timeout"
    try:
        while time.perf_counter() - started < timeout_s:
            if proc.poll() is not None:
                outcome = f"exited {proc.returncode}"
                break
            peak = max(peak, peak_rss_mib(proc.pid))
            if peak > limit_mib:
                outcome = f"killed above {limit_mib:.0f} MiB"
                break
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    outcome = "ready"
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"outcome": outcome, "seconds": time.perf_counter() - started, "peak_rss_mib": peak, "log": str(log)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="qwen3-embedding-0.6b", choices=sorted(shape_models.SHAPES))
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--limit-gib", type=float, default=10.0, help="kill a start whose RSS passes this")
    parser.add_argument("--timeout-s", type=float, default=900.0)
    parser.add_argument("--vocab", type=int, default=None, help="cut the embedding rows (see shape_models.build)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/embedrank-shapes"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    shape = shape_models.SHAPES[args.shape]
    rows = []
    for layers in args.layers:
        folder = args.work / shape_models.folder_name(args.shape, layers, "float32", args.vocab)
        if not (folder / shape_models.MARKER).is_file():
            shape_models.build(args.shape, folder, layers=layers, vocab=args.vocab)
        cache = args.work / "onnx"  # the model_sizes.py cache: its ONNX runs then start from these exports
        marker = json.loads((folder / shape_models.MARKER).read_text())
        row: dict[str, Any] = {"layers": layers, "vocab": marker["vocab_size"], "params": marker["params"]}
        for quantize in ("none", "int8"):  # int8 starts from the fp32 export already in the cache
            row[quantize] = start_once(folder, cache, quantize, args.limit_gib * 1024, args.timeout_s)
            print(f"{args.shape} {layers} layers {quantize}: {row[quantize]}", flush=True)
        rows.append(row)
    report: dict[str, Any] = {"shape": args.shape, "limit_gib": args.limit_gib, "rows": rows}
    ready = [r for r in rows if r["none"]["outcome"] == "ready"]
    if len(ready) >= 2:  # peak = a + b * params, through the two largest measured points
        (p1, m1), (p2, m2) = [(r["params"], r["none"]["peak_rss_mib"]) for r in ready[-2:]]
        slope = (m2 - m1) / (p2 - p1)
        full = shape_models.param_count(shape)
        report["extrapolated_full_peak_gib"] = (m2 + slope * (full - p2)) / 1024
        report["mib_per_million_params"] = slope * 1e6
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
