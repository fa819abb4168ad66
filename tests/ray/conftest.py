"""One real local Ray cluster (head + 1 worker, 1 CPU each) shared by every Ray test of the session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ray.local_cluster import local_cluster  # first: sets Ray's loopback switches before ray loads

pytest.importorskip("ray.serve", reason="the Ray tests need the ray extra: pip install 'embedrank[ray]'")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    started = time.perf_counter()
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        print(f"\nlocal Ray cluster (2 nodes) up in {time.perf_counter() - started:.1f}s")
        yield cluster
