"""One real local Ray cluster (head + 1 worker, 1 CPU each) shared by every Ray test of the session."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ray.local_cluster import local_cluster  # first: sets Ray's loopback switches before ray loads

# Skipped only on request; without the extra they fail and say what to install (CI installs it).
SKIP = os.environ.get("EMBEDRANK_SKIP_RAY") == "1"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SKIP:
        for item in items:
            if HERE in Path(str(item.fspath)).resolve().parents:
                item.add_marker(pytest.mark.skip(reason="EMBEDRANK_SKIP_RAY=1"))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    try:
        import ray.serve  # noqa: F401
    except ImportError as exc:
        raise ImportError("the Ray tests need: pip install 'embedrank[ray]' (or set EMBEDRANK_SKIP_RAY=1)") from exc
    started = time.perf_counter()
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        print(f"\nlocal Ray cluster (2 nodes) up in {time.perf_counter() - started:.1f}s")
        yield cluster
