"""Ray Serve throughput with 1 and 2 replicas on a local 2-node cluster, and per-CPU-second rates.

    .venv/bin/python benchmarks/ray_replicas.py                  # 20 s per point (~3 min)
    .venv/bin/python benchmarks/ray_replicas.py --seconds 60

Closed loop: `--clients` threads, each sending `--texts` fresh texts (no cache hits) per /embed request
through the Serve proxy. CPU seconds are read from each replica process (psutil), so "texts per CPU-second"
is what one replica core really buys. The load generator runs on the same 2 cores: read the 2-replica
number as a floor, not as the scaling curve. Results: benchmarks/results/ray_replicas.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from service.config import Settings  # noqa: E402
from service.ray_serve import APP_NAME, PID_HEADER, build_application  # noqa: E402
from tests.live_server import free_port, serve  # noqa: E402
from tests.ray.local_cluster import local_cluster, wait_ready  # noqa: E402  (before ray: loopback switches)

WORDS = "the quick brown fox jumps over a lazy dog while embeddings of short passages are computed".split()  # noqa: SIM905


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process on Linux (/proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _text(n: int) -> str:
    # ~20 tokens, each text different so the embedding cache never answers.
    return f"{n}: " + " ".join(WORDS[(n * 7 + i) % len(WORDS)] for i in range(16))


def measure(base: str, seconds: float, clients: int, texts: int, server_pid: int | None = None) -> dict[str, Any]:
    """Closed-loop load; CPU seconds of the replicas seen (from their header) or of `server_pid`."""
    counter = iter(range(10**9))
    lock = threading.Lock()
    done: list[int] = []
    pids: set[int] = set()
    errors: list[int] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while not stop.is_set():
                with lock:
                    batch = [_text(next(counter)) for _ in range(texts)]
                r = http.post(f"{base}/embed", json={"texts": batch})
                if r.status_code == 200:
                    done.append(len(batch))
                    pids.add(int(r.headers.get(PID_HEADER, server_pid or 0)))
                else:
                    errors.append(r.status_code)

    # Warm-up: find the replica processes and let each run a few batches.
    warm = threading.Thread(target=client)
    warm.start()
    time.sleep(3)
    stop.set()
    warm.join()
    stop.clear()
    done.clear()
    procs = sorted(pids)
    cpu_before = [_cpu_seconds(pid) for pid in procs]
    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    wall = time.perf_counter() - started
    cpu = sum(_cpu_seconds(pid) - before for pid, before in zip(procs, cpu_before, strict=True))
    total = sum(done)
    return {
        "replicas_seen": len(pids),
        "texts": total,
        "errors": len(errors),
        "seconds": round(wall, 2),
        "texts_per_s": round(total / wall, 1),
        "replica_cpu_s": round(cpu, 1),
        "texts_per_cpu_s": round(total / cpu, 1) if cpu else None,
    }


def plain_point(args: argparse.Namespace) -> dict[str, Any]:
    """The same load on `embedrank serve` with one torch thread: what the Serve hop costs."""
    env = {"NUM_THREADS": "1", "UI_ENABLED": "false", "ACCESS_LOG": "false"}
    with serve(env, timeout_s=180) as server:
        point = measure(server.url, args.seconds, args.clients, args.texts, server_pid=server.pid)
    point["cpus_reserved"] = 1
    point["texts_per_reserved_cpu_s"] = point["texts_per_s"]
    print(f"plain embedrank serve (1 thread): {point}", flush=True)
    return point


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--texts", type=int, default=16, help="texts per request")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain `embedrank serve` reference point")
    args = parser.parse_args()
    from ray import serve

    results: dict[str, Any] = {"clients": args.clients, "texts_per_request": args.texts, "points": {}}
    if not args.no_plain:
        results["points"]["plain"] = plain_point(args)
    with local_cluster(nodes=2, cpus_per_node=1):
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port}, proxy_location="HeadOnly")
        base = f"http://127.0.0.1:{port}"
        for replicas in (1, 2):
            app = build_application(Settings(ui_enabled=False), replicas=replicas, num_cpus=1)
            serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
            wait_ready(base)
            time.sleep(3)  # let every replica report in before traffic starts
            point = measure(base, args.seconds, args.clients, args.texts)
            point["cpus_reserved"] = replicas
            point["texts_per_reserved_cpu_s"] = round(point["texts_per_s"] / replicas, 1)
            results["points"][str(replicas)] = point
            print(f"{replicas} replica(s): {point}", flush=True)
            serve.delete(APP_NAME)
        serve.shutdown()
    one, two = results["points"]["1"]["texts_per_s"], results["points"]["2"]["texts_per_s"]
    results["speedup_2_vs_1"] = round(two / one, 2) if one else None
    out = REPO / "benchmarks/results/ray_replicas.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
