"""The one ingest pipeline: load → chunk → embed (dense + BM25) as `Piece`s, and the crash-safe writer of them.

`embedrank ingest` runs it in this process against the service over HTTP; `--ray` runs the same
`pieces()` inside Ray actors (with an in-process Engine as the embedder) and the same `Writer` on the driver.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from integrations.qdrant import bm25
from integrations.qdrant.chunker import Chunk, ChunkConfig, chunk_segments, refit
from integrations.qdrant.loaders import LoadedDoc, LoadError, Segment, load_file, stream_segments
from integrations.qdrant.store import LAYOUTS, Row, Store, point_id

log = logging.getLogger(__name__)

# Chunks embedded (and written) together: small files share a batch, large ones are cut into
# several; this bounds memory between writes whatever the file size.
FLUSH_CHUNKS = 256


class Embedder(Protocol):
    """What the pipeline needs from the model: the service client, or an in-process Engine (Ray, console)."""

    def embed(self, texts: Sequence[str], input_type: str = "document", batch_size: int = 32) -> list[list[float]]: ...

    def count_tokens(self, texts: Sequence[str], batch_size: int = 256) -> list[int] | None: ...


@dataclass(frozen=True)
class Plan:
    """Everything that decides a file's chunks and vectors (and so its skip fingerprint)."""

    config: ChunkConfig
    model: str
    dim: int
    max_tokens: int
    layout: str = "openwebui"
    jsonl_field: str = "text"
    batch_size: int = 32

    def fingerprint(self, sha256: str) -> dict[str, Any]:
        """What must match the stored chunk 0 for a file to count as unchanged."""
        return {"hash": sha256, "chunker": self.config.fingerprint, "model": self.model,
                "sparse": bm25.FINGERPRINT, "_text_key": LAYOUTS[self.layout]}  # fmt: skip


@dataclass
class Piece:
    """Embedded rows of one file (chunk indexes from `start`); `done` on its last piece, with `total`."""

    path: str
    source: str
    rows: list[Row]
    done: bool = False
    total: int = 0
    error: str = ""  # the file was skipped: why
    bm25_seconds: float = 0.0  # spent computing the rows' BM25 vectors (store-side work, reported apart)


def source_key(path: Path) -> str:
    """The `metadata.source` of a file: its absolute POSIX path, stable whatever the working folder."""
    return path.expanduser().resolve().as_posix()


def is_unchanged(store: Store, source: str, wanted: dict[str, Any]) -> bool:
    """True when the store holds this source's chunk 0 written with the same fingerprint.

    Chunk 0 is written last and deleted first (see Writer), so its presence means the file is complete.
    """
    stored = store.stored_metadata(source)
    return stored is not None and all(stored.get(k) == v for k, v in wanted.items())


def _chunks(doc: LoadedDoc, segments: Iterable[Segment], plan: Plan, embedder: Embedder) -> Iterator[list[Chunk]]:
    """Chunks of the file, in lists of at most FLUSH_CHUNKS, refitted to the service's exact token counts."""
    for segment_group in _segment_groups(doc, segments):
        chunks = chunk_segments(segment_group, doc.markdown, plan.config)
        for start in range(0, len(chunks), FLUSH_CHUNKS):
            batch = chunks[start : start + FLUSH_CHUNKS]
            # The service's own tokenizer, when it offers one, replaces the estimate and catches
            # chunks the model would truncate.
            exact = embedder.count_tokens([chunk.text for chunk in batch]) if plan.max_tokens > 10 else None
            yield refit(batch, exact, plan.max_tokens - 2, plan.config) if exact is not None else batch


def _segment_groups(doc: LoadedDoc, segments: Iterable[Segment]) -> Iterator[list[Segment]]:
    if not doc.streamed:
        yield list(segments)
        return
    for segment in segments:  # one block at a time
        yield [segment]


def pieces(
    paths: Iterable[Path],
    plan: Plan,
    embedder: Embedder,
    skip: Callable[[str, str], bool] | None = None,
    on_unchanged: Callable[[Path], None] | None = None,
) -> Iterator[Piece]:
    """Load, chunk and embed each file; small files share embedding requests, big ones stream.

    `skip(source, sha256)` says a file is already stored as it is (then `on_unchanged(path)`).
    """
    pending: list[tuple[LoadedDoc, list[Chunk]]] = []
    for path in paths:
        try:
            doc = load_file(path, plan.jsonl_field)
        except LoadError as exc:
            log.info("skipping %s: %s", path, exc)  # the summary lists it; no double report
            yield Piece(str(path), source_key(path), [], error=str(exc))
            continue
        if skip is not None and skip(source_key(path), doc.sha256):
            if on_unchanged is not None:
                on_unchanged(path)
            continue
        segments = stream_segments(path) if doc.streamed else doc.segments
        batches = _chunks(doc, segments, plan, embedder)
        first = next(batches, None)
        if first is None:
            yield Piece(str(path), source_key(path), [], error="no text")
            continue
        second = next(batches, None)
        if second is None and len(first) < FLUSH_CHUNKS:
            pending.append((doc, first))
            if sum(len(chunks) for _, chunks in pending) >= FLUSH_CHUNKS:
                yield from _embed_many(pending, plan, embedder)
                pending = []
            continue
        yield from _embed_many(pending, plan, embedder)
        pending = []
        yield from _embed_stream(doc, first, second, batches, plan, embedder)
    yield from _embed_many(pending, plan, embedder)


def _embed_many(jobs: list[tuple[LoadedDoc, list[Chunk]]], plan: Plan, embedder: Embedder) -> Iterator[Piece]:
    texts = [chunk.text for _, chunks in jobs for chunk in chunks]
    if not texts:
        return
    vectors = _embed(texts, plan, embedder)
    cursor = 0
    for doc, chunks in jobs:
        began = time.perf_counter()
        rows = make_rows(doc, chunks, 0, vectors[cursor : cursor + len(chunks)], plan)
        spent = time.perf_counter() - began
        cursor += len(chunks)
        yield Piece(str(doc.path), source_key(doc.path), rows, done=True, total=len(rows), bm25_seconds=spent)


def _embed_stream(
    doc: LoadedDoc, first: list[Chunk], second: list[Chunk] | None, rest: Iterator[list[Chunk]], plan: Plan,
    embedder: Embedder,
) -> Iterator[Piece]:  # fmt: skip
    start = 0
    head = [first] if second is None else [first, second]
    for batch in itertools.chain(head, rest):
        start = yield from _one(doc, batch, start, plan, embedder)
    yield Piece(str(doc.path), source_key(doc.path), [], done=True, total=start)


def _one(doc: LoadedDoc, batch: list[Chunk], start: int, plan: Plan, embedder: Embedder) -> Generator[Piece, None, int]:
    vectors = _embed([c.text for c in batch], plan, embedder)
    began = time.perf_counter()
    rows = make_rows(doc, batch, start, vectors, plan)
    yield Piece(str(doc.path), source_key(doc.path), rows, bm25_seconds=time.perf_counter() - began)
    log.info("%s: %d chunks embedded so far", doc.path, start + len(rows))
    return start + len(rows)


def _embed(texts: list[str], plan: Plan, embedder: Embedder) -> list[list[float]]:
    vectors = embedder.embed(texts, input_type="document", batch_size=plan.batch_size)
    if len(vectors) != len(texts) or any(len(vector) != plan.dim for vector in vectors):
        raise RuntimeError(f"the embedder returned vectors that are not {len(texts)} x {plan.dim}")
    return vectors


def make_rows(
    doc: LoadedDoc, chunks: Sequence[Chunk], start: int, vectors: Sequence[list[float]], plan: Plan
) -> list[Row]:
    """Rows (id, dense, BM25, payload) of chunks `start`.. of one file."""
    source = source_key(doc.path)
    rows = []
    for offset, chunk in enumerate(chunks):
        index = start + offset
        payload = _payload(doc, chunk, source, index, plan)
        rows.append(Row(point_id(source, index), list(vectors[offset]), bm25.embed_document(chunk.text), payload))
    return rows


def _payload(doc: LoadedDoc, chunk: Chunk, source: str, index: int, plan: Plan) -> dict[str, Any]:
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
        "chunker": plan.config.fingerprint,
        "model": plan.model,
        "sparse": bm25.FINGERPRINT,
    }
    if chunk.record is not None:
        metadata["record"] = chunk.record
    return {LAYOUTS[plan.layout]: chunk.text, "metadata": metadata}


@dataclass
class Written:
    """What the writer did to one file."""

    source: str
    chunks: int
    deleted: int


@dataclass
class Writer:
    """Applies Pieces so that no crash can leave a file looking complete when it is not.

    Per file: delete its chunk 0 (the "complete" marker the skip check reads), write chunks 1.. as
    they come, delete the surplus of a shrunk file, and only then write chunk 0. Killed anywhere
    before the last step, the file has no chunk 0, so the next run redoes it.
    """

    store: Store
    _held: dict[str, Row] = field(default_factory=dict)
    _started: set[str] = field(default_factory=set)

    def apply(self, piece: Piece) -> Written | None:
        if piece.error:
            return None
        if piece.source not in self._started:
            self._started.add(piece.source)
            self.store.delete_ids([point_id(piece.source, 0)])
        rows = []
        for row in piece.rows:
            if row.payload["metadata"]["chunk_index"] == 0:
                self._held[piece.source] = row
            else:
                rows.append(row)
        self.store.upsert(rows)
        if not piece.done:
            return None
        self._started.discard(piece.source)
        deleted = self.store.delete_source(piece.source, from_index=piece.total)
        self.store.upsert([self._held.pop(piece.source)])
        log.info("ingested %s: %d chunks (%d stale deleted)", piece.source, piece.total, deleted)
        return Written(piece.source, piece.total, deleted)
