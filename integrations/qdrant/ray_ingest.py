"""`embedrank ingest --ray`: Ray Data loads, chunks and embeds files on an actor pool; the driver upserts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integrations.qdrant import store
from integrations.qdrant.chunker import ChunkConfig, chunk_segments, refit
from integrations.qdrant.ingest import (
    IngestReport,
    _chunk_config,
    _progress,
    _prune,
    _source_key,
    fingerprint,
    is_unchanged,
    source_rows,
    write_source,
)
from integrations.qdrant.loaders import LoadError, discover, load_file
from integrations.qdrant.service_client import ServiceInfo
from integrations.qdrant.store import QdrantTarget
from service.config import Settings

log = logging.getLogger(__name__)

_CALL_TIMEOUT_S = 600.0


def _ray() -> Any:
    try:
        import ray
        import ray.data  # fails here, with the hint, when only ray core is installed
    except ImportError as exc:
        raise RuntimeError("--ray needs Ray Data: pip install 'embedrank[ray]'") from exc
    return ray


def _actor_settings(settings: Settings, num_cpus: float) -> Settings:
    # Ingest never reranks: no cross-encoder in memory; threads = the CPUs Ray reserved.
    threads = settings.num_threads or max(1, int(num_cpus))
    return settings.model_copy(update={"cross_encoder_model": None, "num_threads": threads, "ui_enabled": False})


def _model_info(settings: Settings) -> ServiceInfo:
    """What /health would report for these settings (model name, dim, window), read off a loaded Engine."""
    from service.engine.build import build_engine

    info = build_engine(settings).info
    return ServiceInfo(info.name, info.backend, info.device, info.dim, info.max_tokens, None)


class EmbedFiles:
    """Ray Data actor: one Engine in-process (no HTTP hop); files in, one row of Qdrant points per file out."""

    def __init__(self, settings: Settings, config: ChunkConfig, info: ServiceInfo, layout: str,
                 jsonl_field: str, batch_size: int) -> None:  # fmt: skip
        from service.engine.build import build_engine

        self.config, self.info, self.layout = config, info, layout
        self.jsonl_field, self.batch_size = jsonl_field, batch_size
        # The Engine's batcher lives on an event loop; Ray Data calls us synchronously, so give it its own.
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="engine-loop", daemon=True).start()
        self.engine = build_engine(settings)
        self._run(self.engine.start())
        if self.engine.info.name != info.model or self.engine.info.dim != info.dim:
            raise RuntimeError(f"actor loaded {self.engine.info.name}, the driver planned for {info.model}")

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=_CALL_TIMEOUT_S)

    def _count_tokens(self, texts: Sequence[str]) -> list[int]:
        """What the service's /tokenize (add_special_tokens=false) counts, from the same engine call."""
        formatted = [self.engine.prompts.format(t, "document") for t in texts]
        counts: list[int] = self._run(self.engine.count_content_tokens(formatted))
        return counts

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        # Same request shape as the HTTP ingest (batch_size texts, documents, normalised, truncated).
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            result = self._run(self.engine.embed(texts[start : start + self.batch_size], input_type="document"))
            vectors.extend(np.asarray(result.vectors, dtype=np.float32).tolist())
        return vectors

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"path": [], "error": [], "rows": []}
        for raw in batch["path"]:
            path = Path(str(raw))
            error, rows = "", ""
            try:
                doc = load_file(path, self.jsonl_field)
            except LoadError as exc:
                error = str(exc)
            else:
                chunks = chunk_segments(doc.segments, doc.markdown, self.config)
                if not chunks:
                    error = "no text"
                else:
                    exact = self._count_tokens([c.text for c in chunks]) if self.info.max_tokens > 10 else None
                    if exact is not None:
                        chunks = refit(chunks, exact, self.info.max_tokens - 2, self.config)
                    vectors = self._embed([c.text for c in chunks])
                    rows = json.dumps(source_rows(doc, chunks, vectors, self.config, self.info.model, self.layout))
            out["path"].append(str(path))
            out["error"].append(error)
            out["rows"].append(rows)
        return out


def ingest_with_ray(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    collection: str,
    *,
    settings: Settings | None = None,
    qdrant: QdrantTarget | None = None,
    layout: str = "openwebui",
    chunk_tokens: int = 200,
    overlap_tokens: int = 30,
    batch_size: int = 32,
    jsonl_field: str = "text",
    force: bool = False,
    prune: bool = False,
    progress: bool = False,
    actors: int = 2,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    files_per_batch: int = 4,
) -> IngestReport:
    """`ingest_paths` with the embedding spread over a Ray cluster (RAY_ADDRESS, or a local one).

    The driver discovers files, skips unchanged ones (content hash vs the stored chunk 0, exactly as
    `ingest_paths`) and writes; the actors load, chunk and embed with the model the settings name.
    """
    if layout not in store.LAYOUTS:
        raise ValueError(f"layout must be one of {sorted(store.LAYOUTS)}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    ray = _ray()
    own_ray = not ray.is_initialized()
    if own_ray:
        ray.init(address=os.environ.get("RAY_ADDRESS") or None)
    started = time.perf_counter()
    qdrant = qdrant or QdrantTarget()
    report = IngestReport(collection=collection, target=f"{qdrant.describe()} (Ray Data, {actors} actors)")
    resources = {"num_cpus": cpus_per_actor, "num_gpus": gpus_per_actor}
    actor_settings = _actor_settings(settings or Settings(), cpus_per_actor)
    try:
        # Loaded once where the actors run, so the chunk cap and skip fingerprint match what they embed with.
        info: ServiceInfo = ray.get(ray.remote(_model_info).options(**resources).remote(actor_settings))
        config = _chunk_config(chunk_tokens, overlap_tokens, info)
        found = discover(paths)
        report.skipped.extend(found.skipped)
        report.files_seen = len(found.files)
        with store.open_client(qdrant) as client:
            store.ensure_collection(client, qdrant, collection, info.dim)
            todo = _changed(client, collection, found.files, config, info.model, layout, force, report)
            if todo:
                dataset = ray.data.from_items([{"path": str(p)} for p in todo]).map_batches(
                    EmbedFiles,
                    fn_constructor_kwargs={"settings": actor_settings, "config": config, "info": info,
                                           "layout": layout, "jsonl_field": jsonl_field, "batch_size": batch_size},
                    batch_size=files_per_batch,
                    compute=ray.data.ActorPoolStrategy(size=actors),
                    **resources,
                )  # fmt: skip
                _write(client, qdrant, collection, dataset, len(todo), progress, report)
            if prune:
                report.sources_pruned = _prune(client, collection, paths, found.files, report)
    finally:
        if own_ray:
            ray.shutdown()
    report.seconds = time.perf_counter() - started
    log.info("ray ingest done: %s", report.as_dict())
    return report


def _changed(
    client: Any, collection: str, files: Sequence[Path], config: ChunkConfig, model: str, layout: str, force: bool,
    report: IngestReport,
) -> list[Path]:  # fmt: skip
    """Files whose content hash (sha256 of the bytes, as the loader computes it) is not stored yet."""
    todo: list[Path] = []
    for path in files:
        if not force:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                todo.append(path)  # the actor's loader reports why
                continue
            if is_unchanged(client, collection, _source_key(path), fingerprint(digest, config, model, layout)):
                report.files_unchanged += 1
                continue
        todo.append(path)
    return todo


def _write(
    client: Any, target: QdrantTarget, collection: str, dataset: Any, total: int, progress: bool, report: IngestReport
) -> None:
    """Stream the actors' output and write each file as it arrives (chunk 0 last, stale chunks deleted)."""
    bar = _progress(total, progress)
    try:
        for row in dataset.iter_rows():
            if row["error"]:
                report.skipped.append((str(row["path"]), str(row["error"])))
            else:
                rows = [(pid, vector, payload) for pid, vector, payload in json.loads(row["rows"])]
                source = _source_key(Path(row["path"]))
                deleted = write_source(client, target, collection, source, rows)
                report.files_ingested += 1
                report.chunks_written += len(rows)
                report.chunks_deleted += deleted
                log.info("ingested %s: %d chunks (%d stale deleted)", source, len(rows), deleted)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(chunks=report.chunks_written, refresh=False)
    finally:
        if bar is not None:
            bar.close()
