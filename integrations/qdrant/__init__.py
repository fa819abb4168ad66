"""Ingest + hybrid search over Qdrant Edge or a Qdrant server: public Python API, loaded lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.qdrant.ingest import IngestReport, delete_sources, ingest_paths
    from integrations.qdrant.migrate import migrate_local_mode
    from integrations.qdrant.searcher import SearchHit, SearchResult, search
    from integrations.qdrant.store import QdrantTarget, Store, open_store

__all__ = [
    "IngestReport",
    "QdrantTarget",
    "SearchHit",
    "SearchResult",
    "Store",
    "delete_sources",
    "ingest_paths",
    "migrate_local_mode",
    "open_store",
    "search",
]

_HOMES = {
    "IngestReport": "ingest",
    "delete_sources": "ingest",
    "ingest_paths": "ingest",
    "SearchHit": "searcher",
    "SearchResult": "searcher",
    "search": "searcher",
    "QdrantTarget": "store",
    "Store": "store",
    "open_store": "store",
    "migrate_local_mode": "migrate",
}


def __getattr__(name: str) -> Any:
    # Lazy so `import integrations.qdrant.cli` (wired into the main CLI) pulls in nothing heavy.
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"integrations.qdrant.{_HOMES[name]}"), name)
