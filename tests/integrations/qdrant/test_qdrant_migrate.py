"""A real qdrant-client local-mode folder (the old embedded format): refused with the way out, then migrated."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qdrant_edge")
pytest.importorskip("qdrant_client")

from qdrant_client import QdrantClient, models

from integrations.qdrant import bm25
from integrations.qdrant.cli import main
from integrations.qdrant.migrate import BACKUP, migrate_local_mode
from integrations.qdrant.store import QdrantTarget, StoreError
from integrations.qdrant.store_edge import EdgeStore


def _old_store(folder: Path, collection: str, n: int, vector_name: str | None = None) -> dict[str, Any]:
    """Write `n` points the way embedrank's local mode did; return what qdrant-client reads back, by id."""
    rng = random.Random(n)
    client = QdrantClient(path=str(folder))
    params = models.VectorParams(size=8, distance=models.Distance.COSINE)
    client.create_collection(collection, vectors_config={vector_name: params} if vector_name else params)
    points = []
    for i in range(n):
        vector = [rng.uniform(-1, 1) for _ in range(8)]
        payload = {"text": f"chunk {i} about error E{i:04d} and the --flag-{i} option",
                   "metadata": {"source": f"/docs/f{i // 3}.md", "chunk_index": i % 3, "page": None}}  # fmt: skip
        points.append(models.PointStruct(id=str(uuid.uuid4()), vector={vector_name: vector} if vector_name else vector,
                                         payload=payload))  # fmt: skip
    client.upsert(collection, points=points)
    records, _ = client.scroll(collection, limit=10_000, with_payload=True, with_vectors=True)
    client.close()
    return {str(r.id): (r.payload, r.vector[vector_name] if vector_name else r.vector) for r in records}


def test_old_folder_is_refused_with_the_command_then_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "qdrant_data"
    before = _old_store(folder, "embedrank", 1100)  # more than one scroll page
    with pytest.raises(StoreError, match=r"local-mode store \(collections: embedrank\).*embedrank migrate-store"):
        EdgeStore(QdrantTarget(path=str(folder)), "embedrank")

    assert main(["migrate-store", "--qdrant-path", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"migrated collection 'embedrank': 1100 points into Qdrant Edge at {folder.resolve() / 'embedrank'}" in out
    assert (folder / BACKUP / "meta.json").is_file() and not (folder / "meta.json").exists()

    with EdgeStore(QdrantTarget(path=str(folder)), "embedrank") as store:
        after = {found.id: found for found in store.scroll(vectors=True)}
        assert set(after) == set(before)
        for pid, (payload, vector) in before.items():
            assert after[pid].payload == payload
            assert after[pid].dense == pytest.approx(vector, abs=1e-6)
            indices, values = bm25.embed_document(payload["text"])
            assert after[pid].sparse is not None and after[pid].sparse[0] == indices
            assert after[pid].sparse[1] == pytest.approx(values)
        # The BM25 vectors made during migration answer keyword queries.
        hit = store.search(None, bm25.embed_query("E0420"), "bm25", 1)[0]
        assert hit.payload["text"].startswith("chunk 420 ")
    # The backup is still a readable local-mode store.
    backup = QdrantClient(path=str(folder / BACKUP))
    assert backup.count("embedrank").count == 1100
    backup.close()
    assert main(["migrate-store", "--qdrant-path", str(folder)]) == 1
    assert "nothing to migrate" in capsys.readouterr().err


def test_named_vector_and_several_collections(tmp_path: Path) -> None:
    folder = tmp_path / "q"
    named = _old_store(folder, "lc", 5, vector_name="dense")
    client = QdrantClient(path=str(folder))
    client.create_collection("other", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
    client.close()
    done = {item.collection: item for item in migrate_local_mode(folder)}
    assert done["lc"].points == 5 and done["lc"].vector_name == "dense" and done["other"].points == 0
    with EdgeStore(QdrantTarget(path=str(folder), vector_name="dense"), "lc") as store:
        assert store.dim() == 8 and {f.id for f in store.scroll()} == set(named)
