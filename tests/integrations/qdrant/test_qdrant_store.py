"""The store interface: the same cases on every engine.

Engines: Qdrant Edge (the embedded default, always); the qdrant-client engine over qdrant-client's local
mode (the very calls `--qdrant-url` makes, against the Qdrant API re-implementation that installs here);
and a real Qdrant server when QDRANT_URL is set (none installs on this machine: no server binary on
PyPI/apt/npm and no Docker engine).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("qdrant_edge")
pytest.importorskip("qdrant_client")

from integrations.qdrant import bm25
from integrations.qdrant.store import QdrantTarget, Row, Store, StoreError, point_id
from integrations.qdrant.store_client import ClientStore
from integrations.qdrant.store_edge import EdgeStore

REPO = Path(__file__).resolve().parents[3]
ENGINES = ["edge", "client-local"] + (["server"] if os.environ.get("QDRANT_URL") else [])
TEXTS = {
    "/d/a.md": ["the retry handler backs off", "error E4711 means the socket closed", "set --max-batch-tokens"],
    "/d/b.md": ["gardening notes about tomatoes", "EMBED_CACHE_MB sizes the cache"],
}


def _open(engine: str, folder: Path, collection: str, vector_name: str | None = None) -> Store:
    if engine == "edge":
        return EdgeStore(QdrantTarget(path=str(folder), vector_name=vector_name), collection)
    from qdrant_client import QdrantClient

    if engine == "server":
        target = QdrantTarget(path=None, url=os.environ["QDRANT_URL"], api_key=os.environ.get("QDRANT_API_KEY"),
                              vector_name=vector_name)  # fmt: skip
        return ClientStore.connect(target, f"{collection}-{uuid.uuid4().hex[:8]}")
    client = QdrantClient(path=str(folder / "local"))
    return ClientStore(QdrantTarget(path=str(folder), vector_name=vector_name), collection, client, indexes=False)


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = _open(request.param, tmp_path, "c")
    yield opened
    if request.param == "server":
        opened.client.delete_collection(opened.collection)  # type: ignore[attr-defined]
    opened.close()


def _vector(seed: int) -> list[float]:
    rng = random.Random(seed)
    raw = [rng.uniform(-1, 1) for _ in range(4)]
    norm = sum(v * v for v in raw) ** 0.5
    return [v / norm for v in raw]


def _rows(source: str) -> list[Row]:
    return [
        Row(point_id(source, i), _vector(zlib.crc32(source.encode()) + i), bm25.embed_document(text),
            {"text": text, "metadata": {"source": source, "chunk_index": i}})
        for i, text in enumerate(TEXTS[source])
    ]  # fmt: skip


def test_point_ids_are_deterministic_uuid5() -> None:
    assert point_id("/a/b.md", 0) == point_id("/a/b.md", 0)
    assert point_id("/a/b.md", 0) != point_id("/a/b.md", 1)
    # Pinned: changing the namespace or key format would orphan every existing collection's points.
    assert point_id("/a/b.md", 0) == "515107a8-727a-5590-9784-70cf480e275e"


def test_create_write_count_scroll_delete(store: Store) -> None:
    assert store.dim() is None and store.count() == 0
    assert store.ensure(4) is True and store.ensure(4) is False
    assert store.has_sparse()
    with pytest.raises(StoreError, match="holds 4-dim vectors but the service embeds 8-dim"):
        store.ensure(8)
    store.upsert(_rows("/d/a.md") + _rows("/d/b.md"))
    assert store.count() == 5 and store.count("/d/a.md") == 3
    assert store.stored_metadata("/d/a.md") == {"source": "/d/a.md", "chunk_index": 0, "_text_key": "text"}
    assert store.stored_metadata("/d/zzz.md") is None
    assert store.list_sources() == {"/d/a.md", "/d/b.md"}
    points = {found.id: found for found in store.scroll(vectors=True, page=2)}
    assert set(points) == {row.id for row in _rows("/d/a.md") + _rows("/d/b.md")}
    row = _rows("/d/a.md")[1]
    stored = points[row.id]
    assert stored.payload == row.payload and stored.sparse is not None and stored.dense is not None
    assert stored.sparse[0] == row.sparse[0] and stored.sparse[1] == pytest.approx(row.sparse[1])
    assert stored.dense == pytest.approx(row.dense, abs=1e-6)
    assert store.delete_source("/d/a.md", from_index=1) == 2
    assert store.count("/d/a.md") == 1
    store.delete_ids([point_id("/d/a.md", 0)])
    assert store.count("/d/a.md") == 0 and store.list_sources() == {"/d/b.md"}


def test_search_modes(store: Store) -> None:
    store.ensure(4)
    store.upsert(_rows("/d/a.md") + _rows("/d/b.md"))
    target = _rows("/d/a.md")[1]
    by_dense = store.search(target.dense, None, "dense", 3)
    assert by_dense[0].id == target.id and by_dense[0].score == pytest.approx(1.0, abs=1e-5)
    by_keyword = store.search(None, bm25.embed_query("E4711"), "bm25", 3)
    assert [found.id for found in by_keyword] == [target.id]  # only that chunk has the token
    # Hybrid: the keyword finds chunk 1 of a.md, the vector points at b.md's chunk 0; RRF ranks both on top.
    other = _rows("/d/b.md")[0]
    fused = store.search(other.dense, bm25.embed_query("E4711"), "hybrid", 5)
    assert {found.id for found in fused[:2]} == {target.id, other.id}
    assert fused[0].payload["metadata"]["source"] in TEXTS


def test_named_dense_vector(tmp_path: Path) -> None:
    for engine in ("edge", "client-local"):
        named = _open(engine, tmp_path / engine, "n", vector_name="dense")
        named.ensure(4)
        named.upsert(_rows("/d/b.md"))
        assert named.dim() == 4
        assert named.search(_rows("/d/b.md")[1].dense, None, "dense", 1)[0].id == _rows("/d/b.md")[1].id
        named.close()
        with pytest.raises(StoreError, match="vector"):
            _open(engine, tmp_path / engine, "n").dim()


def test_engines_agree(tmp_path: Path) -> None:
    """Same rows into Edge and the qdrant-client engine: the same ids back for every mode."""
    stores = [_open("edge", tmp_path, "x"), _open("client-local", tmp_path, "x")]
    for each in stores:
        each.ensure(4)
        each.upsert(_rows("/d/a.md") + _rows("/d/b.md"))
    queries = [("dense", _vector(3), None), ("bm25", None, bm25.embed_query("cache tokens socket")),
               ("hybrid", _vector(3), bm25.embed_query("cache tokens socket"))]  # fmt: skip
    for mode, dense, sparse in queries:
        edge, client = (each.search(dense, sparse, mode, 5) for each in stores)  # type: ignore[arg-type]
        assert [f.id for f in edge] == [f.id for f in client], mode
        if mode == "bm25":  # IDF from the same statistics: the same scores
            assert [f.score for f in edge] == pytest.approx([f.score for f in client], rel=1e-4)
    for each in stores:
        each.close()


def test_edge_lock_names_the_way_out(tmp_path: Path) -> None:
    with EdgeStore(QdrantTarget(path=str(tmp_path)), "c") as store:
        store.ensure(4)
        script = (
            "import sys; from integrations.qdrant.store import QdrantTarget, StoreError\n"
            "from integrations.qdrant.store_edge import EdgeStore\n"
            f"try: EdgeStore(QdrantTarget(path={str(tmp_path)!r}), 'c')\n"
            "except StoreError as e: print(e); sys.exit(3)\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 3, done.stderr
        assert "open in another process" in done.stdout and "--qdrant-url" in done.stdout
        # Threads of this process share the open shard instead.
        with EdgeStore(QdrantTarget(path=str(tmp_path)), "c") as again:
            assert again.dim() == 4


def test_summaries_show_the_folder_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QDRANT_PATH", raising=False)
    assert QdrantTarget().describe() == f"Qdrant Edge at {tmp_path.resolve() / 'qdrant_data'}"
    monkeypatch.setenv("QDRANT_PATH", "elsewhere")
    assert QdrantTarget().folder == tmp_path.resolve() / "elsewhere"
    with pytest.raises(StoreError, match="collection name"):
        EdgeStore(QdrantTarget(), "../escape")
