"""The server engine: a collection on a Qdrant server or cluster through qdrant-client (`--qdrant-url`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from integrations.qdrant.bm25 import SPARSE_NAME, Sparse
from integrations.qdrant.store import Found, Mode, QdrantTarget, Row, Store, StoreError

log = logging.getLogger(__name__)


def _qdrant() -> Any:
    try:
        import qdrant_client
    except ImportError as exc:
        raise StoreError("a Qdrant server needs qdrant-client: pip install 'embedrank[qdrant]'") from exc
    return qdrant_client


class ClientStore(Store):
    """Same behaviour as EdgeStore over qdrant-client; `client` may also be a local-mode client (tests, migration)."""

    engine = "qdrant-client"

    def __init__(self, target: QdrantTarget, collection: str, client: Any, *, indexes: bool = True) -> None:
        super().__init__(target, collection)
        self.client = client
        self.models = _qdrant().models
        self.dense_name = target.vector_name
        self.indexes = indexes  # local mode has no payload indexes (and warns when asked)
        self._warned_sparse = False

    def describe(self) -> str:
        where = self.target.url or f"qdrant-client local mode at {self.target.folder}"
        return f"collection {self.collection!r} in {where}"

    @classmethod
    def connect(cls, target: QdrantTarget, collection: str) -> ClientStore:
        client = _qdrant().QdrantClient(url=target.url, api_key=target.api_key)
        return cls(target, collection, client)

    def _params(self) -> tuple[Any, dict[str, Any]] | None:
        if not self.client.collection_exists(self.collection):
            return None
        params = self.client.get_collection(self.collection).config.params
        return params.vectors, dict(params.sparse_vectors or {})

    def dim(self) -> int | None:
        found = self._params()
        if found is None:
            return None
        vectors = found[0]
        if isinstance(vectors, dict):
            if self.dense_name not in vectors:
                raise StoreError(f"{self.describe()} has named vectors {sorted(vectors)}; pass one with --vector-name")
            return int(vectors[self.dense_name].size)
        if self.dense_name is not None or vectors is None:
            raise StoreError(f"{self.describe()} has an unnamed vector; drop --vector-name")
        return int(vectors.size)

    def has_sparse(self) -> bool:
        found = self._params()
        return found is not None and SPARSE_NAME in found[1]

    def _create(self, dim: int) -> None:
        models = self.models
        params = models.VectorParams(size=dim, distance=models.Distance.COSINE)
        self.client.create_collection(
            self.collection,
            vectors_config={self.dense_name: params} if self.dense_name else params,
            sparse_vectors_config={SPARSE_NAME: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        if self.indexes:
            self.client.create_payload_index(self.collection, "metadata.source", models.PayloadSchemaType.KEYWORD)
            self.client.create_payload_index(self.collection, "metadata.chunk_index", models.PayloadSchemaType.INTEGER)

    def upsert(self, rows: Sequence[Row]) -> None:
        models = self.models
        sparse_ok = self.has_sparse() if rows else True
        if not sparse_ok and not self._warned_sparse:
            log.warning("%s has no %r sparse vector (made elsewhere): writing dense vectors only", self.describe(),
                        SPARSE_NAME)  # fmt: skip
            self._warned_sparse = True
        points = []
        for row in rows:
            vector: dict[str, Any] = {self.dense_name or "": row.dense}
            if sparse_ok:
                vector[SPARSE_NAME] = models.SparseVector(indices=row.sparse[0], values=row.sparse[1])
            if not self.dense_name and not sparse_ok:
                points.append(models.PointStruct(id=row.id, vector=row.dense, payload=row.payload))
            else:
                points.append(models.PointStruct(id=row.id, vector=vector, payload=row.payload))
        if points:
            self.client.upsert(self.collection, points=points, wait=True)

    def _filter(self, source: str | None = None, from_index: int | None = None, first: bool = False) -> Any:
        models = self.models
        must: list[Any] = []
        if source is not None:
            must.append(models.FieldCondition(key="metadata.source", match=models.MatchValue(value=source)))
        if from_index:
            must.append(models.FieldCondition(key="metadata.chunk_index", range=models.Range(gte=from_index)))
        if first:
            must.append(models.FieldCondition(key="metadata.chunk_index", match=models.MatchValue(value=0)))
        return models.Filter(must=must) if must else None

    def delete_source(self, source: str, from_index: int = 0) -> int:
        selector = self._filter(source, from_index)
        count = int(self.client.count(self.collection, count_filter=selector, exact=True).count)
        if count:
            self.client.delete(self.collection, points_selector=self.models.FilterSelector(filter=selector), wait=True)
        return count

    def delete_ids(self, ids: Sequence[str]) -> None:
        if ids and self.client.collection_exists(self.collection):
            self.client.delete(self.collection, points_selector=self.models.PointIdsList(points=list(ids)), wait=True)

    def count(self, source: str | None = None) -> int:
        if not self.client.collection_exists(self.collection):
            return 0
        return int(self.client.count(self.collection, count_filter=self._filter(source), exact=True).count)

    def payload(self, pid: str) -> dict[str, Any] | None:
        if not self.client.collection_exists(self.collection):
            return None
        records = self.client.retrieve(self.collection, ids=[pid], with_payload=True)
        return dict(records[0].payload or {}) if records else None

    def scroll_page(
        self, offset: Any, limit: int, first_chunks: bool = False, vectors: bool = False
    ) -> tuple[list[Found], Any]:
        records, next_offset = self.client.scroll(
            self.collection, scroll_filter=self._filter(first=first_chunks), limit=limit, offset=offset,
            with_payload=True, with_vectors=vectors,
        )  # fmt: skip
        return [self._found(record, 0.0, vectors) for record in records], next_offset

    def _found(self, point: Any, score: float, vectors: bool) -> Found:
        dense = sparse = None
        if vectors:
            raw = point.vector
            if isinstance(raw, dict):
                dense = list(raw.get(self.dense_name or "") or [])
                vector = raw.get(SPARSE_NAME)
                sparse = (list(vector.indices), list(vector.values)) if vector is not None else ([], [])
            else:
                dense, sparse = list(raw or []), ([], [])
        return Found(str(point.id), score, dict(point.payload or {}), dense, sparse)

    def search(self, dense: list[float] | None, sparse: Sparse | None, mode: Mode, limit: int) -> list[Found]:
        models = self.models
        sparse_query = models.SparseVector(indices=sparse[0], values=sparse[1]) if sparse is not None else None
        if mode == "hybrid":
            response = self.client.query_points(
                self.collection,
                prefetch=[
                    models.Prefetch(query=dense, using=self.dense_name, limit=limit),
                    models.Prefetch(query=sparse_query, using=SPARSE_NAME, limit=limit),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),  # k=2, as store.RRF_K on Edge
                limit=limit,
                with_payload=True,
            )
        elif mode == "dense":
            response = self.client.query_points(
                self.collection, query=dense, using=self.dense_name, limit=limit, with_payload=True
            )
        else:
            response = self.client.query_points(
                self.collection, query=sparse_query, using=SPARSE_NAME, limit=limit, with_payload=True
            )
        return [self._found(point, float(point.score), False) for point in response.points]

    def optimize(self) -> bool:
        """A server optimises in the background; nothing to do here."""
        return False

    def close(self) -> None:
        self.client.close()
