"""Ingest files into a collection via the embedrank service (the API under `embedrank ingest`)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.qdrant import pipeline, store
from integrations.qdrant.chunker import ChunkConfig
from integrations.qdrant.loaders import discover
from integrations.qdrant.pipeline import Embedder, Piece, Plan, Writer, source_key
from integrations.qdrant.service_client import EmbedrankClient, ServiceInfo, service_url_from_env
from integrations.qdrant.store import QdrantTarget, Store

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one run did; `skipped` lists (path, reason), `removed` the files gone since the last run."""

    collection: str
    target: str
    files_seen: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    sources_pruned: int = 0
    prune: bool = True
    store_seconds: float = 0.0  # writes, deletes, skip checks and BM25 vectors: the store's share of `seconds`
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_written / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "target": self.target,
            "files_seen": self.files_seen,
            "files_ingested": self.files_ingested,
            "files_unchanged": self.files_unchanged,
            "chunks_written": self.chunks_written,
            "chunks_deleted": self.chunks_deleted,
            "prune": self.prune,
            "sources_pruned": self.sources_pruned,
            "removed": self.removed,
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped],
            "seconds": round(self.seconds, 3),
            "store_seconds": round(self.store_seconds, 3),
            "chunks_per_second": round(self.chunks_per_second, 1),
        }


def ingest_paths(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    collection: str,
    *,
    service_url: str | None = None,
    api_key: str | None = None,
    qdrant: QdrantTarget | None = None,
    layout: str = "openwebui",
    chunk_tokens: int = 200,
    overlap_tokens: int = 30,
    batch_size: int = 32,
    jsonl_field: str = "text",
    force: bool = False,
    prune: bool = True,
    progress: bool = False,
    service: Embedder | None = None,
) -> IngestReport:
    """Chunk, embed (dense through the service + BM25) and store every supported file under `paths`.

    Unchanged files (same content hash, chunk settings, model, BM25 settings and layout) are
    skipped; a changed file's chunks are overwritten in place and its surplus old chunks deleted.
    `prune` (default on): files that were ingested from one of the given folders and are gone now
    lose their chunks; with `prune=False` they are only listed in `report.removed`.
    `service_url` defaults to EMBEDRANK_SERVICE_URL, then http://localhost:9000.
    """
    paths = _paths(paths, layout)
    qdrant = qdrant or QdrantTarget()
    started = time.perf_counter()
    report = IngestReport(collection=collection, target=qdrant.describe(), prune=prune)
    own_service = service is None
    svc: Any = service or EmbedrankClient(service_url or service_url_from_env(), api_key)
    try:
        info: ServiceInfo = svc.health()
        plan = make_plan(info, chunk_tokens, overlap_tokens, layout, jsonl_field, batch_size)
        found = discover(paths)
        report.skipped.extend(found.skipped)
        report.files_seen = len(found.files)
        with store.opened(qdrant, collection) as target_store:
            target_store.ensure(info.dim)
            skip = None if force else _skip_check(target_store, plan, report)
            stream = pipeline.pieces(found.files, plan, svc, skip, lambda _: _unchanged(report))
            write_all(target_store, stream, len(found.files), progress, report)
            began = time.perf_counter()
            handle_removed(target_store, paths, found.files, report)
            report.store_seconds += time.perf_counter() - began
    finally:
        if own_service:
            svc.close()
    report.seconds = time.perf_counter() - started
    log.info("ingest done: %s", report.as_dict())
    return report


def _paths(paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], layout: str) -> list[Any]:
    if layout not in store.LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(store.LAYOUTS)}")
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)  # one path, not its characters


def _unchanged(report: IngestReport) -> None:
    report.files_unchanged += 1


def _skip_check(target_store: Store, plan: Plan, report: IngestReport) -> Any:
    def check(source: str, sha256: str) -> bool:
        began = time.perf_counter()
        try:
            return pipeline.is_unchanged(target_store, source, plan.fingerprint(sha256))
        finally:
            report.store_seconds += time.perf_counter() - began

    return check


def make_plan(info: ServiceInfo, size: int, overlap: int, layout: str, jsonl_field: str, batch_size: int) -> Plan:
    # Text past the model's window is truncated away by the service, silently. 20% headroom
    # covers the token estimate running low on code, and 2 tokens cover [CLS]/[SEP] or BOS/EOS.
    cap = int(0.8 * (info.max_tokens - 2)) if info.max_tokens > 10 else 0
    if cap and size > cap:
        log.warning("chunk size %d is too close to %s's %d-token window; using %d", size, info.model,
                    info.max_tokens, cap)  # fmt: skip
        size = cap
        overlap = min(overlap, size // 2 - 1)
    config = ChunkConfig(size=size, overlap=overlap)
    return Plan(config, info.model, info.dim, info.max_tokens, layout, jsonl_field, batch_size)


def write_all(target_store: Store, stream: Iterable[Piece], total: int, progress: bool, report: IngestReport) -> None:
    """Write every Piece through one Writer, counting into the report; a progress bar if asked."""
    writer = Writer(target_store)
    bar = _progress(total, progress)
    try:
        for piece in stream:
            if piece.error:
                report.skipped.append((piece.path, piece.error))
            report.chunks_written += len(piece.rows)
            began = time.perf_counter()
            written = writer.apply(piece)
            report.store_seconds += time.perf_counter() - began + piece.bm25_seconds
            if written is not None:
                report.files_ingested += 1
                report.chunks_deleted += written.deleted
            if bar is not None:
                if piece.done or piece.error:
                    bar.update(1)
                _postfix(bar, report)
    finally:
        if bar is not None:
            bar.update(max(0, total - bar.n))  # unchanged files were skipped silently
            _postfix(bar, report)
            bar.close()


def handle_removed(
    target_store: Store, roots: Sequence[str | os.PathLike[str]], files: Sequence[Path], report: IngestReport
) -> None:
    """Sources under one of the given folders that were not found this run: deleted when pruning, else listed."""
    folders = tuple(source_key(Path(root)) + "/" for root in roots if Path(root).is_dir())
    if not folders:
        return
    present = {source_key(path) for path in files}
    report.removed = sorted(s for s in target_store.list_sources() if s not in present and s.startswith(folders))
    if report.prune:
        for source in report.removed:
            report.chunks_deleted += target_store.delete_source(source)
        report.sources_pruned = len(report.removed)


def delete_sources(
    sources: Sequence[str | os.PathLike[str]], collection: str, qdrant: QdrantTarget | None = None
) -> int:
    """Delete every chunk of the given files (by path, as ingested); returns the number of points removed."""
    with store.opened(qdrant or QdrantTarget(), collection) as target_store:
        if target_store.dim() is None:
            return 0
        return sum(target_store.delete_source(source_key(Path(s))) for s in sources)


def _postfix(bar: Any, report: IngestReport) -> None:
    elapsed = bar.format_dict.get("elapsed") or 0.0
    rate = report.chunks_written / elapsed if elapsed else 0.0
    bar.set_postfix(chunks=report.chunks_written, rate=f"{rate:.1f} chunk/s", refresh=False)


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety; the summary still prints
        return None
    return tqdm(total=total, unit="file", desc="ingest", dynamic_ncols=True)
