"""`embedrank migrate-store`: convert a qdrant-client local-mode folder into Qdrant Edge shards, keeping everything."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrations.qdrant import bm25
from integrations.qdrant.store import TEXT_KEYS, QdrantTarget, Row, StoreError
from integrations.qdrant.store_edge import CONFIG_FILE, EdgeStore, local_mode_collections

log = logging.getLogger(__name__)

BACKUP = "local-mode-backup"
DONE = "MIGRATED"
_PAGE = 512


@dataclass(frozen=True)
class Migrated:
    """One collection: how many points were copied and with which dense vector name (None = unnamed)."""

    collection: str
    points: int
    vector_name: str | None


def migrate_local_mode(folder: str | Path) -> list[Migrated]:
    """Move the local-mode files to `<folder>/local-mode-backup`, then copy every collection into an Edge shard.

    Same ids, payloads and dense vectors; each point also gets its BM25 vector from its payload text.
    Interrupted, it resumes from the backup on the next call (writes are idempotent upserts).
    """
    root = Path(folder).expanduser().resolve()
    backup = root / BACKUP
    if local_mode_collections(root):
        if backup.exists():
            raise StoreError(f"{backup} already exists; move it away before migrating {root} again")
        backup.mkdir()
        for name in ("meta.json", "collection", ".lock"):
            if (root / name).exists():
                shutil.move(str(root / name), str(backup / name))
    elif not local_mode_collections(backup) or (backup / DONE).exists():
        raise StoreError(f"{root} holds no qdrant-client local-mode store (no meta.json): nothing to migrate")
    from integrations.qdrant.store_client import _qdrant

    client = _qdrant().QdrantClient(path=str(backup))
    try:
        done = [_copy(client, root, name) for name in local_mode_collections(backup) if name != "(none)"]
    finally:
        client.close()
    # Without this mark a later call resumes (an interrupted run); with it, the shards are the user's now.
    (backup / DONE).write_text("migrated to Qdrant Edge shards in the parent folder\n")
    return done


def _copy(client: Any, root: Path, name: str) -> Migrated:
    vectors = client.get_collection(name).config.params.vectors
    if isinstance(vectors, dict):
        if len(vectors) != 1:
            raise StoreError(f"collection {name!r} has {len(vectors)} dense vectors; only one can be migrated")
        vector_name: str | None = next(iter(vectors))
        params = vectors[vector_name]
    else:
        vector_name, params = None, vectors
    if str(params.distance).lower() not in ("cosine", "distance.cosine"):
        raise StoreError(f"collection {name!r} uses {params.distance} distance; embedrank stores cosine only")
    target = QdrantTarget(path=str(root), vector_name=vector_name)
    if (root / name / CONFIG_FILE).is_file():
        shutil.rmtree(root / name)  # a half-done earlier attempt: start this collection over
    store = EdgeStore(target, name)
    try:
        store.ensure(int(params.size))
        copied = 0
        offset: Any = None
        while True:
            records, offset = client.scroll(name, limit=_PAGE, offset=offset, with_payload=True, with_vectors=True)
            store.upsert([_row(record, vector_name) for record in records])
            copied += len(records)
            if offset is None:
                break
        if store.count() != copied:
            raise StoreError(f"collection {name!r}: {copied} points read but {store.count()} stored")
    finally:
        store.close()
    log.info("migrated %s: %d points", name, copied)
    return Migrated(name, copied, vector_name)


def _row(record: Any, vector_name: str | None) -> Row:
    raw = record.vector
    dense = raw[vector_name] if isinstance(raw, dict) else raw
    payload = dict(record.payload or {})
    text = next((payload[key] for key in TEXT_KEYS if isinstance(payload.get(key), str)), "")
    return Row(str(record.id), list(dense), bm25.embed_document(text), payload)
