"""A real multi-node Ray cluster on this machine: head + workers, 127.0.0.1 only, every port chosen free."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

# Ray swaps 127.0.0.1 for the LAN address when it connects; this switch (read when ray is imported, named
# for macOS/Windows, where it is the default) keeps every node, driver and worker on the loopback.
# Import this module before ray.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# The proxy would send everything to the replica on its own node while that one has room; off, so one
# proxy's traffic shows both nodes (production: a proxy per node behind a balancer keeps it local).
os.environ.setdefault("RAY_SERVE_PROXY_PREFER_LOCAL_NODE_ROUTING", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests.live_server import free_port


def _node_args(num_cpus: int) -> dict[str, Any]:
    # Ray's defaults include fixed ports (dashboard 8265, agent 52365, ...) and the host's LAN address;
    # on a machine shared with other Ray users both collide, so everything is pinned to free loopback ports.
    return {
        "num_cpus": num_cpus,
        "node_ip_address": "127.0.0.1",
        "include_dashboard": False,
        "dashboard_agent_listen_port": free_port(),
        "runtime_env_agent_port": free_port(),
        "metrics_agent_port": free_port(),
        "metrics_export_port": free_port(),
        "object_store_memory": 100 * 1024 * 1024,
    }


@contextmanager
def local_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[Any]:
    """Start `nodes` Ray nodes (the first is the head), connect this process, shut all down afterwards."""
    import ray
    from ray.cluster_utils import Cluster

    # A short private temp dir: Ray's unix sockets live there (path length limit) and /tmp/ray is shared.
    temp_dir = tempfile.mkdtemp(prefix="er-ray-", dir="/tmp")
    cluster = Cluster(initialize_head=True, head_node_args={**_node_args(cpus_per_node), "temp_dir": temp_dir})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(**_node_args(cpus_per_node))
        cluster.wait_for_nodes(timeout=120)
        ray.init(address=cluster.address, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


def wait_ready(
    base: str, headers: dict[str, str] | None = None, timeout_s: float = 180.0, poll_s: float = 0.5
) -> list[tuple[int, str]]:
    """Poll /ready through the Serve proxy until a replica says 200; every answer seen, as (status, stage),
    with (0, error name) for a poll that got none (refused, or no answer within 2 s)."""
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{base}/ready", headers=headers, timeout=2)
        except httpx.HTTPError as exc:
            seen.append((0, type(exc).__name__))
        else:
            stage = (
                r.json().get("stage", "") if r.headers.get("content-type", "").startswith("application/json") else ""
            )
            seen.append((r.status_code, stage))
            if r.status_code == 200:
                return seen
        time.sleep(poll_s)
    raise TimeoutError(f"{base} not ready after {timeout_s}s")


def wait_all_ready(base: str, replicas: int, headers: dict[str, str] | None = None, timeout_s: float = 180.0) -> None:
    """Until `replicas` distinct replicas have said 200 on /ready (Serve starts routing to each once its
    lifespan, which waits for the model, has finished)."""
    from service.ray_serve import REPLICA_HEADER

    ready: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while len(ready) < replicas:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(ready)} of {replicas} replicas ready after {timeout_s}s")
        try:
            r = httpx.get(f"{base}/ready", headers=headers, timeout=2)
        except httpx.HTTPError:
            continue
        if r.status_code == 200 and REPLICA_HEADER in r.headers:
            ready.add(r.headers[REPLICA_HEADER])
        time.sleep(0.05)
