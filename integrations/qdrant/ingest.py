"""Ingest files into a Qdrant collection via the embedrank service (the API under `embedrank ingest`)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.qdrant import store
from integrations.qdrant.chunker import Chunk, ChunkConfig, chunk_segments, refit
from integrations.qdrant.loaders import LoadedDoc, LoadError, discover, load_file
from integrations.qdrant.service_client import DEFAULT_SERVICE_URL, EmbedrankClient, ServiceInfo
from integrations.qdrant.store import QdrantTarget

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

log = logging.getLogger(__name__)

# Embedding many files' chunks together keeps requests full; this bounds memory between writes.
_FLUSH_CHUNKS = 256


@dataclass
class IngestReport:
    """What one run did; `skipped` lists (path, reason)."""

    collection: str
    target: str
    files_seen: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    chunks_written: int = 0
    chunks_deleted: int = 0
    sources_pruned: int = 0
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
            "sources_pruned": self.sources_pruned,
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped],
            "seconds": round(self.seconds, 3),
            "chunks_per_second": round(self.chunks_per_second, 1),
        }


@dataclass
class _Job:
    doc: LoadedDoc
    chunks: list[Chunk]


def ingest_paths(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    collection: str,
    *,
    service_url: str = DEFAULT_SERVICE_URL,
    api_key: str | None = None,
    qdrant: QdrantTarget | None = None,
    layout: str = "openwebui",
    chunk_tokens: int = 200,
    overlap_tokens: int = 30,
    batch_size: int = 32,
    jsonl_field: str = "text",
    force: bool = False,
    prune: bool = False,
    progress: bool = False,
    service: EmbedrankClient | None = None,
) -> IngestReport:
    """Chunk, embed (as documents) and upsert every supported file under `paths`.

    Unchanged files (same content hash, chunk settings, model and layout) are skipped; a changed
    file's chunks are overwritten in place and its surplus old chunks deleted. With `prune`,
    sources under the given folders whose files are gone are deleted too.
    """
    if layout not in store.LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(store.LAYOUTS)}")
    if isinstance(paths, (str, os.PathLike)):  # one path, not a sequence of characters
        paths = [paths]
    qdrant = qdrant or QdrantTarget()
    started = time.perf_counter()
    report = IngestReport(collection=collection, target=qdrant.describe())
    own_service = service is None
    svc = service or EmbedrankClient(service_url, api_key)
    try:
        info = svc.health()
        config = _chunk_config(chunk_tokens, overlap_tokens, info)
        found = discover(paths)
        report.skipped.extend(found.skipped)
        report.files_seen = len(found.files)
        with store.open_client(qdrant) as client:
            store.ensure_collection(client, qdrant, collection, info.dim)
            run = _Run(svc, client, qdrant, collection, info, config, layout, batch_size, report)
            run.ingest(found.files, jsonl_field, force, progress)
            if prune:
                report.sources_pruned = _prune(client, collection, paths, found.files, report)
    finally:
        if own_service:
            svc.close()
    report.seconds = time.perf_counter() - started
    log.info("ingest done: %s", report.as_dict())
    return report


def delete_sources(
    sources: Sequence[str | os.PathLike[str]], collection: str, qdrant: QdrantTarget | None = None
) -> int:
    """Delete every chunk of the given files (by path, as ingested); returns the number of points removed."""
    with store.open_client(qdrant or QdrantTarget()) as client:
        if not client.collection_exists(collection):
            return 0
        return sum(store.delete_source(client, collection, _source_key(Path(s))) for s in sources)


def _source_key(path: Path) -> str:
    """The `metadata.source` of a file: its absolute POSIX path, stable whatever the working folder."""
    return path.expanduser().resolve().as_posix()


def _chunk_config(size: int, overlap: int, info: ServiceInfo) -> ChunkConfig:
    # Text past the model's window is truncated away by the service, silently. 20% headroom
    # covers the token estimate running low on code, and 2 tokens cover [CLS]/[SEP] or BOS/EOS.
    cap = int(0.8 * (info.max_tokens - 2)) if info.max_tokens > 10 else 0
    if cap and size > cap:
        log.warning("chunk size %d is too close to %s's %d-token window; using %d", size, info.model,
                    info.max_tokens, cap)  # fmt: skip
        size = cap
        overlap = min(overlap, size // 2 - 1)
    return ChunkConfig(size=size, overlap=overlap)


@dataclass
class _Run:
    svc: EmbedrankClient
    client: QdrantClient
    target: QdrantTarget
    collection: str
    info: ServiceInfo
    config: ChunkConfig
    layout: str
    batch_size: int
    report: IngestReport

    def ingest(self, files: Sequence[Path], jsonl_field: str, force: bool, progress: bool) -> None:
        bar = _progress(len(files), progress)
        pending: list[_Job] = []
        try:
            for path in files:
                job = self._prepare(path, jsonl_field, force)
                if job is not None:
                    pending.append(job)
                if sum(len(j.chunks) for j in pending) >= _FLUSH_CHUNKS:
                    self._flush(pending, bar)
                    pending = []
                if bar is not None:
                    bar.update(1)
                    self._postfix(bar)
            self._flush(pending, bar)
        finally:
            if bar is not None:
                self._postfix(bar)
                bar.close()

    def _postfix(self, bar: Any) -> None:
        elapsed = bar.format_dict.get("elapsed") or 0.0
        rate = self.report.chunks_written / elapsed if elapsed else 0.0
        bar.set_postfix(chunks=self.report.chunks_written, rate=f"{rate:.1f} chunk/s", refresh=False)

    def _prepare(self, path: Path, jsonl_field: str, force: bool) -> _Job | None:
        try:
            doc = load_file(path, jsonl_field)
        except LoadError as exc:
            log.info("skipping %s: %s", path, exc)  # the summary lists it; no double report
            self.report.skipped.append((str(path), str(exc)))
            return None
        chunks = chunk_segments(doc.segments, doc.markdown, self.config)
        if not chunks:
            self.report.skipped.append((str(path), "no text"))
            return None
        if not force and is_unchanged(self.client, self.collection, _source_key(path), self._fingerprint(doc.sha256)):
            self.report.files_unchanged += 1
            log.debug("unchanged: %s", path)
            return None
        # The service's own tokenizer, when it offers one, replaces the estimate and catches chunks
        # the model would truncate.
        exact = self.svc.count_tokens([chunk.text for chunk in chunks]) if self.info.max_tokens > 10 else None
        if exact is not None:
            chunks = refit(chunks, exact, self.info.max_tokens - 2, self.config)
        return _Job(doc, chunks)

    def _fingerprint(self, sha256: str) -> dict[str, Any]:
        return fingerprint(sha256, self.config, self.info.model, self.layout)

    def _flush(self, jobs: list[_Job], bar: Any) -> None:
        texts = [chunk.text for job in jobs for chunk in job.chunks]
        if not texts:
            return
        vectors = self.svc.embed(texts, input_type="document", batch_size=self.batch_size)
        if any(len(vector) != self.info.dim for vector in vectors):
            raise store.StoreError(f"service returned vectors that are not {self.info.dim}-dim")
        cursor = 0
        for job in jobs:
            source = _source_key(job.doc.path)
            rows = source_rows(job.doc, job.chunks, vectors[cursor : cursor + len(job.chunks)], self.config,
                               self.info.model, self.layout)  # fmt: skip
            cursor += len(job.chunks)
            deleted = write_source(self.client, self.target, self.collection, source, rows)
            self.report.files_ingested += 1
            log.info("ingested %s: %d chunks (%d stale deleted)", source, len(rows), deleted)
            self.report.chunks_written += len(rows)
            self.report.chunks_deleted += deleted
            if bar is not None:
                self._postfix(bar)


def fingerprint(sha256: str, config: ChunkConfig, model: str, layout: str) -> dict[str, Any]:
    """What must match the stored chunk 0 for a file to count as unchanged."""
    return {"hash": sha256, "chunker": config.fingerprint, "model": model, "_text_key": store.LAYOUTS[layout]}


def is_unchanged(client: QdrantClient, collection: str, source: str, wanted: dict[str, Any]) -> bool:
    """True when the collection already holds this source written with the same `fingerprint`."""
    stored = store.stored_metadata(client, collection, source)
    return stored is not None and all(stored.get(k) == v for k, v in wanted.items())


Row = tuple[str, list[float], dict[str, Any]]


def source_rows(
    doc: LoadedDoc,
    chunks: Sequence[Chunk],
    vectors: Sequence[list[float]],
    config: ChunkConfig,
    model: str,
    layout: str,
) -> list[Row]:
    """(point id, vector, payload) for each chunk of one file, in chunk order."""
    source = _source_key(doc.path)
    payloads = [_payload(doc, chunk, source, index, config, model, layout) for index, chunk in enumerate(chunks)]
    return [(store.point_id(source, i), list(vectors[i]), payloads[i]) for i in range(len(chunks))]


def write_source(client: QdrantClient, target: QdrantTarget, collection: str, source: str, rows: Sequence[Row]) -> int:
    """Upsert one file's rows and delete its surplus old chunks; returns how many were deleted."""
    # Chunk 0 carries the file's hash and is what the skip check reads: writing it last
    # means an interrupted write is redone on the next run instead of looking complete.
    store.upsert(client, target, collection, [*rows[1:], *rows[:1]])
    return store.delete_source(client, collection, source, from_index=len(rows))


def _payload(
    doc: LoadedDoc, chunk: Chunk, source: str, index: int, config: ChunkConfig, model: str, layout: str
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "source": source,
        "name": doc.path.name,
        "title": doc.title,
        "page": chunk.page,
        "chunk_index": index,
        "hash": doc.sha256,
        "headings": " > ".join(chunk.headings),
        "kind": doc.kind,
        "tokens": chunk.tokens,
        "chunker": config.fingerprint,
        "model": model,
    }
    if chunk.record is not None:
        metadata["record"] = chunk.record
    return {store.LAYOUTS[layout]: chunk.text, "metadata": metadata}


def _prune(
    client: QdrantClient,
    collection: str,
    roots: Sequence[str | os.PathLike[str]],
    files: Sequence[Path],
    report: IngestReport,
) -> int:
    """Delete sources that live under one of the given folders but were not found this run."""
    folders = [_source_key(Path(root)) + "/" for root in roots if Path(root).is_dir()]
    present = {_source_key(path) for path in files}
    gone = [s for s in store.list_sources(client, collection) if s not in present and s.startswith(tuple(folders))]
    for source in gone:
        report.chunks_deleted += store.delete_source(client, collection, source)
    return len(gone)


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety; the summary still prints
        return None
    return tqdm(total=total, unit="file", desc="ingest", dynamic_ncols=True)
