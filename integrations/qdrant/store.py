"""One store interface over two engines: Qdrant Edge in-process (default) or qdrant-client for a server/cluster."""

from __future__ import annotations

import logging
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from integrations.qdrant.bm25 import Sparse

log = logging.getLogger(__name__)

# Payload key that holds the chunk text, per consumer; everything else lives under "metadata".
LAYOUTS = {"openwebui": "text", "n8n": "content", "langchain": "page_content"}
TEXT_KEYS = tuple(LAYOUTS.values())
# Fixed namespace: ids depend only on (source, chunk index), so re-ingest overwrites in place.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/embedrank/embedrank#qdrant")
DEFAULT_PATH = "./qdrant_data"
# Reciprocal rank fusion constant: Qdrant server's default, so both engines fuse identically.
RRF_K = 2
Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class StoreError(RuntimeError):
    """A store-side problem worth a clear message (dimension mismatch, missing collection, lock, old format)."""


def default_path() -> str:
    """QDRANT_PATH, else ./qdrant_data (shown absolute wherever it is reported)."""
    return os.environ.get("QDRANT_PATH") or DEFAULT_PATH


@dataclass(frozen=True)
class QdrantTarget:
    """Where the collection lives: an embedded Qdrant Edge folder (`path`) or a server/cluster (`url`)."""

    path: str | None = field(default_factory=default_path)
    url: str | None = None
    api_key: str | None = None
    vector_name: str | None = None  # None = the unnamed default dense vector

    @property
    def is_server(self) -> bool:
        return self.url is not None

    @property
    def folder(self) -> Path:
        """The embedded store's folder, absolute (the working folder never changes what a summary means)."""
        return Path(self.path or default_path()).expanduser().resolve()

    def describe(self) -> str:
        return self.url if self.url else f"Qdrant Edge at {self.folder}"


@dataclass(frozen=True)
class Row:
    """One chunk as stored: id, dense vector, BM25 sparse vector, payload."""

    id: str
    dense: list[float]
    sparse: Sparse
    payload: dict[str, Any]


@dataclass(frozen=True)
class Found:
    """A point out of search or scroll."""

    id: str
    score: float
    payload: dict[str, Any]
    dense: list[float] | None = None
    sparse: Sparse | None = None


def point_id(source: str, chunk_index: int) -> str:
    """uuid5 of '<source>#<chunk index>': stable across runs and machines for the same path."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{source}#{chunk_index}"))


def check_collection_name(name: str) -> str:
    if not _COLLECTION_NAME.match(name):
        raise StoreError(f"collection name {name!r}: use letters, digits, '_', '-' and '.' (not leading)")
    return name


class Store(ABC):
    """A collection in one engine. Same behaviour on both: ids, payloads, vectors, filters, fusion."""

    engine: str

    def __init__(self, target: QdrantTarget, collection: str) -> None:
        self.target = target
        self.collection = check_collection_name(collection)

    def describe(self) -> str:
        return f"collection {self.collection!r} in {self.target.describe()}"

    @abstractmethod
    def dim(self) -> int | None:
        """The dense vector size, or None when the collection does not exist."""

    @abstractmethod
    def has_sparse(self) -> bool:
        """Whether the collection has the BM25 sparse vector (collections made elsewhere may not)."""

    @abstractmethod
    def _create(self, dim: int) -> None: ...

    @abstractmethod
    def upsert(self, rows: Sequence[Row]) -> None:
        """Write rows and return once they are durable (WAL / wait=True)."""

    @abstractmethod
    def delete_source(self, source: str, from_index: int = 0) -> int:
        """Delete a source's chunks with index >= from_index; returns how many went."""

    @abstractmethod
    def delete_ids(self, ids: Sequence[str]) -> None: ...

    @abstractmethod
    def count(self, source: str | None = None) -> int: ...

    def optimize(self) -> bool:
        """Build indexes / vacuum now where the engine does not do it in the background."""
        return False

    @abstractmethod
    def payload(self, pid: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def scroll_page(
        self, offset: Any, limit: int, first_chunks: bool = False, vectors: bool = False
    ) -> tuple[list[Found], Any]:
        """One page of points (payload always) and the next offset, None at the end."""

    @abstractmethod
    def search(self, dense: list[float] | None, sparse: Sparse | None, mode: Mode, limit: int) -> list[Found]:
        """Nearest by dense, by BM25, or both fused with RRF (each side prefetching `limit`)."""

    @abstractmethod
    def close(self) -> None: ...

    def ensure(self, dim: int) -> bool:
        """Create the collection (cosine `dim` + BM25 with IDF) if missing; refuse another dimension."""
        existing = self.dim()
        if existing is None:
            self._create(dim)
            log.info("created %s (%d-dim cosine + BM25)", self.describe(), dim)
            return True
        if existing != dim:
            raise StoreError(
                f"{self.describe()} holds {existing}-dim vectors but the service embeds {dim}-dim ones; "
                "use another --collection or the model the collection was built with"
            )
        return False

    def scroll(self, first_chunks: bool = False, vectors: bool = False, page: int = 512) -> Iterator[Found]:
        offset: Any = None
        while True:
            records, offset = self.scroll_page(offset, page, first_chunks, vectors)
            yield from records
            if offset is None:
                return

    def stored_metadata(self, source: str) -> dict[str, Any] | None:
        """Metadata of the source's first chunk (every ingested file has one, written last), or None."""
        payload = self.payload(point_id(source, 0))
        metadata = (payload or {}).get("metadata")
        if not isinstance(metadata, dict):
            return None
        # The text key tells which layout wrote it; a layout change must rewrite the file.
        return {**metadata, "_text_key": next((key for key in TEXT_KEYS if key in (payload or {})), None)}

    def list_sources(self) -> set[str]:
        """Every source path in the collection (read from chunk 0 of each)."""
        found = (record.payload.get("metadata") or {} for record in self.scroll(first_chunks=True))
        return {meta["source"] for meta in found if isinstance(meta.get("source"), str)}

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(target: QdrantTarget, collection: str) -> Store:
    """The engine for the target: qdrant-client for a URL, else a Qdrant Edge shard under the folder."""
    if target.is_server:
        from integrations.qdrant.store_client import ClientStore

        return ClientStore.connect(target, collection)
    from integrations.qdrant.store_edge import EdgeStore

    return EdgeStore(target, collection)


@contextmanager
def opened(target: QdrantTarget, collection: str) -> Iterator[Store]:
    """open_store that always closes (an Edge shard holds its folder's lock while open)."""
    store = open_store(target, collection)
    try:
        yield store
    finally:
        store.close()
