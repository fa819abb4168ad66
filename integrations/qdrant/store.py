"""Qdrant side: open a local or remote client, create/check the collection, write and delete by source."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

log = logging.getLogger(__name__)

# Payload key that holds the chunk text, per consumer; everything else lives under "metadata".
LAYOUTS = {"openwebui": "text", "n8n": "content", "langchain": "page_content"}
TEXT_KEYS = tuple(LAYOUTS.values())
# Fixed namespace: ids depend only on (source, chunk index), so re-ingest overwrites in place.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/embedrank/embedrank#qdrant")


class StoreError(RuntimeError):
    """A Qdrant-side problem worth a clear message (dimension mismatch, missing collection, lock)."""


@dataclass(frozen=True)
class QdrantTarget:
    """Where the collection lives: embedded on disk (`path`) or a server/cluster (`url`)."""

    path: str | None = "./qdrant_data"
    url: str | None = None
    api_key: str | None = None
    vector_name: str | None = None  # None = the unnamed default vector

    @property
    def is_server(self) -> bool:
        return self.url is not None

    def describe(self) -> str:
        return self.url if self.url else f"local {self.path}"


def _qdrant() -> Any:
    try:
        import qdrant_client
    except ImportError as exc:
        raise StoreError("the Qdrant helper needs qdrant-client: pip install 'embedrank[qdrant]'") from exc
    return qdrant_client


# Local mode allows one open client per folder, per process too. Threads of one process (the console
# serving several searches) wait their turn here instead of failing; other processes still fail.
_LOCAL_LOCKS: dict[str, threading.RLock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


def _local_lock(path: str) -> threading.RLock:
    key = os.path.realpath(path)
    with _LOCAL_LOCKS_GUARD:
        return _LOCAL_LOCKS.setdefault(key, threading.RLock())


@contextmanager
def open_client(target: QdrantTarget, wait_s: float = 60.0) -> Iterator[QdrantClient]:
    """Yield a client and always close it: local mode holds a per-folder lock until closed."""
    qdrant_client = _qdrant()
    if target.url:
        client = qdrant_client.QdrantClient(url=target.url, api_key=target.api_key)
        try:
            yield client
        finally:
            client.close()
        return
    path = target.path or "./qdrant_data"
    lock = _local_lock(path)
    if not lock.acquire(timeout=wait_s):
        raise StoreError(f"{target.describe()} stayed busy in this process for {wait_s:.0f} s")
    try:
        try:
            client = qdrant_client.QdrantClient(path=path)
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise StoreError(
                    f"{target.describe()} is open in another process (local Qdrant allows one); "
                    "close it or use a Qdrant server with --qdrant-url"
                ) from exc
            raise
        try:
            yield client
        finally:
            client.close()
    finally:
        lock.release()


def point_id(source: str, chunk_index: int) -> str:
    """uuid5 of '<source>#<chunk index>': stable across runs and machines for the same path."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{source}#{chunk_index}"))


def collection_dim(client: QdrantClient, name: str, vector_name: str | None) -> int | None:
    """The collection's vector size, or None when it does not exist."""
    if not client.collection_exists(name):
        return None
    vectors = client.get_collection(name).config.params.vectors
    if isinstance(vectors, dict):
        if vector_name not in vectors:
            raise StoreError(f"collection {name!r} has named vectors {sorted(vectors)}; pass one with --vector-name")
        return int(vectors[vector_name].size)
    if vector_name is not None or vectors is None:
        raise StoreError(f"collection {name!r} has an unnamed vector; drop --vector-name")
    return int(vectors.size)


def ensure_collection(client: QdrantClient, target: QdrantTarget, name: str, dim: int) -> bool:
    """Create the collection (cosine, `dim`) if missing; refuse one of another dimension. True if created."""
    models = _qdrant().models
    existing = collection_dim(client, name, target.vector_name)
    if existing is not None:
        if existing != dim:
            raise StoreError(
                f"collection {name!r} in {target.describe()} holds {existing}-dim vectors but the service "
                f"embeds {dim}-dim ones; use another --collection or the model the collection was built with"
            )
        created = False
    else:
        params = models.VectorParams(size=dim, distance=models.Distance.COSINE)
        config = {target.vector_name: params} if target.vector_name else params
        client.create_collection(name, vectors_config=config)
        log.info("created collection %r (%d-dim, cosine) in %s", name, dim, target.describe())
        created = True
    if target.is_server:
        # Filters by source run on every ingest; local mode has no payload indexes (and warns).
        client.create_payload_index(name, "metadata.source", models.PayloadSchemaType.KEYWORD)
        client.create_payload_index(name, "metadata.chunk_index", models.PayloadSchemaType.INTEGER)
    return created


def _source_filter(source: str, from_index: int | None = None) -> Any:
    models = _qdrant().models
    must: list[Any] = [models.FieldCondition(key="metadata.source", match=models.MatchValue(value=source))]
    if from_index is not None:
        must.append(models.FieldCondition(key="metadata.chunk_index", range=models.Range(gte=from_index)))
    return models.Filter(must=must)


def stored_metadata(client: QdrantClient, name: str, source: str) -> dict[str, Any] | None:
    """Metadata of the source's first chunk (every ingested file has one), or None."""
    records = client.retrieve(name, ids=[point_id(source, 0)], with_payload=True)
    if not records or not records[0].payload:
        return None
    payload = records[0].payload
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict):
        return None
    # The text key tells which layout wrote it; a layout change must rewrite the file.
    return {**metadata, "_text_key": next((key for key in TEXT_KEYS if key in payload), None)}


def upsert(
    client: QdrantClient,
    target: QdrantTarget,
    name: str,
    rows: Sequence[tuple[str, list[float], dict[str, Any]]],
    batch: int = 256,
) -> None:
    """Write (id, vector, payload) rows, waiting for each batch so a crash leaves no half state."""
    models = _qdrant().models
    for start in range(0, len(rows), batch):
        points = [
            models.PointStruct(
                id=pid, vector={target.vector_name: vector} if target.vector_name else vector, payload=payload
            )
            for pid, vector, payload in rows[start : start + batch]
        ]
        client.upsert(name, points=points, wait=True)


def delete_source(client: QdrantClient, name: str, source: str, from_index: int = 0) -> int:
    """Delete a source's chunks with index >= from_index; returns how many went."""
    selector = _source_filter(source, from_index if from_index else None)
    count = client.count(name, count_filter=selector, exact=True).count
    if count:
        client.delete(name, points_selector=_qdrant().models.FilterSelector(filter=selector), wait=True)
    return int(count)


def list_sources(client: QdrantClient, name: str) -> set[str]:
    """Every source path in the collection (read from chunk 0 of each)."""
    models = _qdrant().models
    first = models.Filter(must=[models.FieldCondition(key="metadata.chunk_index", match=models.MatchValue(value=0))])
    sources: set[str] = set()
    offset: Any = None
    while True:
        records, offset = client.scroll(name, scroll_filter=first, limit=512, offset=offset, with_payload=True)
        for record in records:
            metadata = (record.payload or {}).get("metadata") or {}
            if isinstance(metadata.get("source"), str):
                sources.add(metadata["source"])
        if offset is None:
            return sources
