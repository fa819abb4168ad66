"""Start-up table: time to port bound, first /ready 503 and /ready 200, RSS at ready; console on/off, before/after.

    python -m benchmarks.startup                        # this checkout, console on and off
    python -m benchmarks.startup --before /tmp/old-tree # the same, plus an older checkout (git archive)

Every run is a fresh `python -m service.cli serve` process on 127.0.0.1 with the embedded MiniLM; the port is
probed every 10 ms with a TCP connect, /ready every 100 ms (polled every 20 ms, the probes' HTTP work took
~0.8 s of GIL time from the loading thread: no orchestrator probes that often). "first start" runs with an
empty CALIBRATION_CACHE (TORCH_DTYPE=auto times fp32 and bf16), "restart" with the verdict kept from an
earlier start. Medians of --repeat runs, interleaved so a noisy neighbour hurts every variant alike.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.live_server import REPO, free_port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05):
            return True
    except OSError:
        return False


READY_POLL_S = 0.1
CALIBRATION_CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "embedrank-startup-calibration.json"


def one_start(repo: Path, console: bool, restart: bool, timeout_s: float = 180.0) -> dict[str, Any]:
    """Start one server, time its start-up milestones, stop it."""
    port = free_port()
    if not restart:
        CALIBRATION_CACHE.unlink(missing_ok=True)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": str(repo),
        "UI_ENABLED": "true" if console else "false",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        # A fresh install: no ONNX export cached, so BACKEND=auto does not try ONNX (that is measured apart).
        "ONNX_CACHE_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / "embedrank-startup-empty-onnx-cache"),
        "CALIBRATION_CACHE": str(CALIBRATION_CACHE),
    }
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"], cwd=repo, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    bound = first_503 = ready = None
    stages: list[str] = []
    try:
        with httpx.Client(timeout=2) as client:
            while time.monotonic() - started < timeout_s:
                if proc.poll() is not None:
                    raise RuntimeError(f"server in {repo} exited with {proc.returncode}")
                if bound is None:
                    if _connects(port):
                        bound = time.monotonic() - started
                    else:
                        time.sleep(0.01)
                        continue
                try:
                    r = client.get(f"http://127.0.0.1:{port}/ready")
                except httpx.HTTPError:
                    time.sleep(READY_POLL_S)
                    continue
                if r.status_code == 200:
                    ready = time.monotonic() - started
                    break
                if first_503 is None:
                    first_503 = time.monotonic() - started
                stage = r.json().get("stage")
                if stage and stage not in stages:
                    stages.append(stage)
                time.sleep(READY_POLL_S)
            if ready is None:
                raise TimeoutError(f"not ready after {timeout_s}s")
            rss = _rss_mb(proc.pid)
            if console:  # the console must still come up (built lazily: the first visit pays)
                t = time.monotonic()
                page = client.get(f"http://127.0.0.1:{port}/ui/", timeout=60)
                console_s = time.monotonic() - t if page.status_code == 200 else None
                rss_console = _rss_mb(proc.pid)
            else:
                console_s, rss_console = None, None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "port_bound_s": bound, "first_503_s": first_503, "ready_s": ready, "rss_at_ready_mb": rss,
        "stages": stages, "first_ui_visit_s": console_s, "rss_after_ui_mb": rss_console,
    }  # fmt: skip


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run[key] is not None]
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="an older checkout to compare with (e.g. git archive main)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "startup.json")
    args = parser.parse_args()
    trees = {"after": REPO} | ({"before": args.before.resolve()} if args.before else {})
    # (tree, console, restart); the older tree has no calibration to keep
    variants = [("after", True, False), ("after", True, True), ("after", False, True)]
    variants += [("before", console, False) for console in (True, False) if "before" in trees]
    runs: dict[tuple[str, bool, bool], list[dict[str, Any]]] = {variant: [] for variant in variants}
    for _ in range(args.repeat):
        for name, console, restart in variants:
            runs[(name, console, restart)].append(one_start(trees[name], console, restart))
    rows = []
    print(f"{'tree':7} {'console':8} {'start':>13} {'port bound s':>12} {'first 503 s':>11} {'ready s':>8} "
          f"{'RSS MB':>7} {'1st /ui s':>9} {'RSS+ui MB':>9}")  # fmt: skip
    for (name, console, restart), measured in runs.items():
        kind = "restart" if restart else "first start"
        row = {"tree": name, "console": console, "start": kind, "runs": measured}
        for key in ("port_bound_s", "first_503_s", "ready_s", "rss_at_ready_mb", "first_ui_visit_s", "rss_after_ui_mb"):
            row[key] = _median(measured, key)
        rows.append(row)

        def cell(key: str, width: int, fmt: str = ".2f", r: dict[str, Any] = row) -> str:
            return f"{r[key]:>{width}{fmt}}" if r[key] is not None else f"{'-':>{width}}"

        print(
            f"{name:7} {'on' if console else 'off':8} {kind:>13} {cell('port_bound_s', 12)} {cell('first_503_s', 11)} "
            f"{cell('ready_s', 8)} {cell('rss_at_ready_mb', 7, '.0f')} {cell('first_ui_visit_s', 9)} "
            f"{cell('rss_after_ui_mb', 9, '.0f')}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"cpus": os.cpu_count(), "repeat": args.repeat, "load_avg_at_end": os.getloadavg()}
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
