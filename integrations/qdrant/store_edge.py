"""The embedded engine: one Qdrant Edge shard per collection under the store folder, in this process."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from integrations.qdrant.bm25 import SPARSE_NAME, Sparse
from integrations.qdrant.store import RRF_K, Found, Mode, QdrantTarget, Row, Store, StoreError

log = logging.getLogger(__name__)

CONFIG_FILE = "edge_config.json"


def _edge() -> Any:
    try:
        import qdrant_edge
    except ImportError as exc:
        raise StoreError("the embedded store needs qdrant-edge-py: pip install 'embedrank[qdrant]'") from exc
    return qdrant_edge


def local_mode_collections(folder: Path) -> list[str]:
    """Collections of a qdrant-client local-mode store in `folder` (its meta.json lists them), else []."""
    meta = folder / "meta.json"
    if not meta.is_file():
        return []
    try:
        collections = json.loads(meta.read_text()).get("collections") or {}
    except (OSError, ValueError):
        return ["?"]
    return sorted(collections) or ["(none)"]


# An Edge shard admits one opener (it locks its WAL). Threads of this process share one open shard
# (the console serving several searches); another process gets a clear error instead.
_OPEN: dict[Path, tuple[Any, int]] = {}
_OPEN_GUARD = threading.Lock()


def _acquire(path: Path, create: Any) -> Any:
    with _OPEN_GUARD:
        if path in _OPEN:
            shard, users = _OPEN[path]
            _OPEN[path] = (shard, users + 1)
            return shard
        if not (path / CONFIG_FILE).is_file():
            if create is None:
                return None
            shard = _edge().EdgeShard.create(str(path), create)
        else:
            try:
                shard = _edge().EdgeShard.load(str(path))
            except Exception as exc:  # the binding raises a bare Exception
                if "WouldBlock" in str(exc) or "lock" in str(exc).lower():
                    raise StoreError(
                        f"{path} is open in another process (a Qdrant Edge shard allows one); close it, "
                        "or serve the collection from a Qdrant server with --qdrant-url"
                    ) from exc
                raise StoreError(f"cannot open the Qdrant Edge shard at {path}: {exc}") from exc
        _OPEN[path] = (shard, 1)
        return shard


def _release(path: Path) -> None:
    with _OPEN_GUARD:
        shard, users = _OPEN[path]
        if users > 1:
            _OPEN[path] = (shard, users - 1)
            return
        del _OPEN[path]
        shard.flush()
        shard.close()


class EdgeStore(Store):
    """A collection = a Qdrant Edge shard at `<folder>/<collection>`."""

    engine = "edge"

    def __init__(self, target: QdrantTarget, collection: str, *, on_disk: bool = False) -> None:
        super().__init__(target, collection)
        self.folder = target.folder
        self.path = self.folder / collection
        self.dense_name = target.vector_name or ""
        self.on_disk = on_disk
        old = local_mode_collections(self.folder)
        if old and not (self.path / CONFIG_FILE).is_file():
            raise StoreError(
                f"{self.folder} holds a qdrant-client local-mode store (collections: {', '.join(old)}), the "
                "old embedded format. Convert it to Qdrant Edge with `embedrank migrate-store --qdrant-path "
                f"{self.folder}` (same ids, payloads and vectors; the old files are kept in "
                f"{self.folder / 'local-mode-backup'}), or pass another --qdrant-path"
            )
        self._shard = _acquire(self.path, None)

    def _need(self) -> Any:
        if self._shard is None:
            raise StoreError(f"{self.describe()} does not exist; run `embedrank ingest` first")
        return self._shard

    def dim(self) -> int | None:
        if self._shard is None:
            return None
        vectors = json.loads((self.path / CONFIG_FILE).read_text()).get("vectors") or {}
        if self.dense_name not in vectors:
            names = sorted(name or "(unnamed)" for name in vectors)
            raise StoreError(f"{self.describe()} has dense vectors {names}; pass the right --vector-name")
        return int(vectors[self.dense_name]["size"])

    def has_sparse(self) -> bool:
        if self._shard is None:
            return False
        return SPARSE_NAME in (json.loads((self.path / CONFIG_FILE).read_text()).get("sparse_vectors") or {})

    def _create(self, dim: int) -> None:
        qe = _edge()
        dense = qe.EdgeVectorParams(
            size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cold if self.on_disk else None
        )
        config = qe.EdgeConfig(
            vectors={self.dense_name: dense},
            sparse_vectors={SPARSE_NAME: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        self._shard = _acquire(self.path, config)
        # Ingest filters by source on every file: keep those lookups indexed.
        self._shard.update(qe.UpdateOperation.create_field_index("metadata.source", qe.PayloadSchemaType.Keyword))
        self._shard.update(qe.UpdateOperation.create_field_index("metadata.chunk_index", qe.PayloadSchemaType.Integer))

    def upsert(self, rows: Sequence[Row]) -> None:
        qe = _edge()
        points = [
            qe.Point(
                id=row.id,
                vector={self.dense_name: row.dense, SPARSE_NAME: qe.SparseVector(*row.sparse)},
                payload=row.payload,
            )
            for row in rows
        ]
        if points:
            self._need().update(qe.UpdateOperation.upsert_points(points))

    def _filter(self, source: str | None = None, from_index: int | None = None, first: bool = False) -> Any:
        qe = _edge()
        must: list[Any] = []
        if source is not None:
            must.append(qe.FieldCondition(key="metadata.source", match=qe.MatchValue(source)))
        if from_index:
            must.append(qe.FieldCondition(key="metadata.chunk_index", range=qe.RangeFloat(gte=float(from_index))))
        if first:
            must.append(qe.FieldCondition(key="metadata.chunk_index", match=qe.MatchValue(0)))
        return qe.Filter(must=must) if must else None

    def delete_source(self, source: str, from_index: int = 0) -> int:
        qe = _edge()
        selector = self._filter(source, from_index)
        shard = self._need()
        count = int(shard.count(qe.CountRequest(exact=True, filter=selector)))
        if count:
            shard.update(qe.UpdateOperation.delete_points_by_filter(selector))
        return count

    def delete_ids(self, ids: Sequence[str]) -> None:
        if self._shard is not None and ids:
            self._shard.update(_edge().UpdateOperation.delete_points(list(ids)))

    def count(self, source: str | None = None) -> int:
        if self._shard is None:
            return 0
        return int(self._shard.count(_edge().CountRequest(exact=True, filter=self._filter(source))))

    def payload(self, pid: str) -> dict[str, Any] | None:
        if self._shard is None:
            return None
        records = self._shard.retrieve([pid], with_payload=True, with_vector=False)
        return dict(records[0].payload or {}) if records else None

    def scroll_page(
        self, offset: Any, limit: int, first_chunks: bool = False, vectors: bool = False
    ) -> tuple[list[Found], Any]:
        qe = _edge()
        request = qe.ScrollRequest(
            offset=offset, limit=limit, filter=self._filter(first=first_chunks), with_payload=True, with_vector=vectors
        )
        records, next_offset = self._need().scroll(request)
        return [self._found(record, 0.0, vectors) for record in records], next_offset

    def _found(self, point: Any, score: float, vectors: bool) -> Found:
        dense = sparse = None
        if vectors and isinstance(point.vector, dict):
            dense = list(point.vector.get(self.dense_name) or [])
            raw = point.vector.get(SPARSE_NAME)
            sparse = (list(raw.indices), list(raw.values)) if raw is not None else ([], [])
        return Found(str(point.id), score, dict(point.payload or {}), dense, sparse)

    def search(self, dense: list[float] | None, sparse: Sparse | None, mode: Mode, limit: int) -> list[Found]:
        qe = _edge()
        near_dense = qe.Query.Nearest(dense, using=self.dense_name or None) if dense is not None else None
        near_sparse = qe.Query.Nearest(qe.SparseVector(*sparse), using=SPARSE_NAME) if sparse is not None else None
        if mode == "hybrid":
            request = qe.QueryRequest(
                limit=limit,
                prefetches=[qe.Prefetch(limit=limit, query=near_dense), qe.Prefetch(limit=limit, query=near_sparse)],
                query=qe.Fusion.Rrf(k=RRF_K),
                with_payload=True,
            )
        else:
            request = qe.QueryRequest(limit=limit, query=near_dense if mode == "dense" else near_sparse,
                                      with_payload=True)  # fmt: skip
        return [self._found(point, float(point.score), False) for point in self._need().query(request)]

    def optimize(self) -> bool:
        """Build HNSW / vacuum deleted points now (Edge runs no background optimizer)."""
        return bool(self._need().optimize())

    def close(self) -> None:
        if self._shard is not None:
            self._shard = None
            _release(self.path)
