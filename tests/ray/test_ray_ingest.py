"""Ray Data ingest on 2 nodes writes the same points (dense + BM25) as one process, then nothing on a re-run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from integrations.qdrant.ingest import ingest_paths
from integrations.qdrant.ray_ingest import ingest_with_ray
from integrations.qdrant.store import QdrantTarget, opened
from service.config import Settings
from tests.live_server import REPO, live_server

pytestmark = pytest.mark.slow
COLLECTION = "docs"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real text (this repo's own docs) in every loader's format, plus a file the loader refuses."""
    root = tmp_path_factory.mktemp("corpus")
    for source in ["docs/scaling.md", "integrations/qdrant/README.md", "n8n_templates/README.md", "CHANGELOG.md"]:
        shutil.copy(REPO / source, root / source.replace("/", "_"))
    (root / "notes.txt").write_text((REPO / "integrations/open_webui/README.md").read_text()[:3000])
    (root / "page.html").write_text("<html><head><title>Ray</title></head><body><h1>Scaling</h1><p>"
                                    + "Ray Serve runs replicas of the app. " * 40 + "</p></body></html>")  # fmt: skip
    lines = [{"text": f"Record {i}: embedrank chunks, embeds and upserts into Qdrant."} for i in range(12)]
    (root / "records.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
    (root / "blob.txt").write_bytes(b"\x00\x01binary")
    return root


def _points(path: Path) -> dict[str, tuple[np.ndarray, dict[str, Any], Any]]:
    with opened(QdrantTarget(path=str(path)), COLLECTION) as store:
        return {f.id: (np.asarray(f.dense, dtype=np.float64), f.payload, f.sparse) for f in store.scroll(vectors=True)}


def test_ray_ingest_matches_single_process_and_is_idempotent(ray_cluster: Any, corpus: Path, tmp_path: Path) -> None:
    import ray

    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == 2 and all(n["Resources"]["CPU"] == 1 for n in nodes)  # 2 actors x 1 CPU: one per node

    with live_server({"UI_ENABLED": "false"}) as base:
        single = ingest_paths(corpus, COLLECTION, service_url=base, qdrant=QdrantTarget(path=str(tmp_path / "single")))
    distributed = ingest_with_ray(
        corpus, COLLECTION, settings=Settings(ui_enabled=False), qdrant=QdrantTarget(path=str(tmp_path / "ray")),
        actors=2, cpus_per_actor=1,
    )  # fmt: skip
    print(f"\ningest: single {single.as_dict()}\n        ray    {distributed.as_dict()}")
    assert distributed.chunks_written == single.chunks_written > 50
    assert distributed.files_ingested == single.files_ingested == 7
    assert sorted(distributed.skipped) == sorted(single.skipped) and len(single.skipped) == 1

    want, got = _points(tmp_path / "single"), _points(tmp_path / "ray")
    assert set(got) == set(want) and len(got) == single.chunks_written
    worst = max(float(np.abs(got[pid][0] - want[pid][0]).max()) for pid in want)
    print(f"max |vector difference| over {len(want)} points: {worst:.2e}")
    assert worst <= 1e-6
    assert all(got[pid][1] == want[pid][1] for pid in want)  # same text, metadata, fingerprints
    assert all(got[pid][2] == want[pid][2] for pid in want)  # the same BM25 vectors (one pipeline)

    # Re-run through the CLI, joining the same cluster: every file unchanged, nothing written.
    env = {**os.environ, "RAY_ADDRESS": ray_cluster.address, "UI_ENABLED": "false"}
    argv = [sys.executable, "-m", "service.cli", "ingest", str(corpus), "--ray", "--collection", COLLECTION,
            "--qdrant-path", str(tmp_path / "ray"), "--json"]  # fmt: skip
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    again = json.loads(done.stdout)
    assert again["chunks_written"] == 0 and again["chunks_deleted"] == 0
    assert again["files_unchanged"] == single.files_ingested
    assert _points(tmp_path / "ray").keys() == got.keys()
