"""Qdrant ingest + search helper: public Python API (`ingest_paths`, `search`), loaded lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.qdrant.ingest import IngestReport, delete_sources, ingest_paths
    from integrations.qdrant.searcher import SearchHit, SearchResult, search
    from integrations.qdrant.store import QdrantTarget

__all__ = [
    "IngestReport",
    "QdrantTarget",
    "SearchHit",
    "SearchResult",
    "delete_sources",
    "ingest_paths",
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
}


def __getattr__(name: str) -> Any:
    # Lazy so `import integrations.qdrant.cli` (wired into the main CLI) pulls in nothing heavy.
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"integrations.qdrant.{_HOMES[name]}"), name)
