"""`embedrank ingest --ray`: the ingest pipeline's load → chunk → embed on a Ray Data actor pool; the driver writes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integrations.qdrant import pipeline, store
from integrations.qdrant.ingest import IngestReport, _paths, handle_removed, make_plan, write_all
from integrations.qdrant.loaders import LoadError, discover, file_sha256
from integrations.qdrant.pipeline import Piece, Plan, source_key
from integrations.qdrant.service_client import ServiceInfo
from integrations.qdrant.store import QdrantTarget, Row, Store
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
    """Ray Data actor: one Engine in-process (no HTTP hop) as the pipeline's embedder; files in, Pieces out."""

    def __init__(self, settings: Settings, plan: Plan) -> None:
        from service.engine.build import build_engine

        self.plan = plan
        # The Engine's batcher lives on an event loop; Ray Data calls us synchronously, so give it its own.
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="engine-loop", daemon=True).start()
        self.engine = build_engine(settings)
        self._run(self.engine.start())
        if self.engine.info.name != plan.model or self.engine.info.dim != plan.dim:
            raise RuntimeError(f"actor loaded {self.engine.info.name}, the driver planned for {plan.model}")

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=_CALL_TIMEOUT_S)

    def count_tokens(self, texts: Sequence[str], batch_size: int = 256) -> list[int] | None:
        """What the service's /tokenize (add_special_tokens=false) counts, from the same engine call."""
        formatted = [self.engine.prompts.format(t, "document") for t in texts]
        counts: list[int] = self._run(self.engine.count_content_tokens(formatted))
        return counts

    def embed(self, texts: Sequence[str], input_type: str = "document", batch_size: int = 32) -> list[list[float]]:
        # Same request shape as the HTTP ingest (batch_size texts, documents, normalised, truncated).
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            result = self._run(self.engine.embed(list(texts[start : start + batch_size]), input_type="document"))
            vectors.extend(np.asarray(result.vectors, dtype=np.float32).tolist())
        return vectors

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        paths = [Path(str(raw)) for raw in batch["path"]]
        # The very pipeline `embedrank ingest` runs; only the embedder differs.
        return {"piece": [_encode(piece) for piece in pipeline.pieces(paths, self.plan, self)]}


def _encode(piece: Piece) -> str:
    return json.dumps(dataclasses.asdict(piece))


def _decode(raw: str) -> Piece:
    data = json.loads(raw)
    rows = [Row(r["id"], r["dense"], (r["sparse"][0], r["sparse"][1]), r["payload"]) for r in data.pop("rows")]
    return Piece(rows=rows, **data)


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
    prune: bool = True,
    progress: bool = False,
    actors: int = 2,
    cpus_per_actor: float = 1.0,
    gpus_per_actor: float = 0.0,
    files_per_batch: int = 4,
) -> IngestReport:
    """`ingest_paths` with the embedding spread over a Ray cluster (RAY_ADDRESS, or a local one).

    The driver discovers files, skips unchanged ones (content hash vs the stored chunk 0, exactly as
    `ingest_paths`) and writes with the same Writer; the actors run the same load → chunk → embed
    pipeline with the model the settings name.
    """
    paths = _paths(paths, layout)
    ray = _ray()
    own_ray = not ray.is_initialized()
    if own_ray:
        ray.init(address=os.environ.get("RAY_ADDRESS") or None)
    started = time.perf_counter()
    qdrant = qdrant or QdrantTarget()
    report = IngestReport(collection=collection, target=f"{qdrant.describe()} (Ray Data, {actors} actors)", prune=prune)
    resources = {"num_cpus": cpus_per_actor, "num_gpus": gpus_per_actor}
    actor_settings = _actor_settings(settings or Settings(), cpus_per_actor)
    try:
        # Loaded once where the actors run, so the chunk cap and skip fingerprint match what they embed with.
        info: ServiceInfo = ray.get(ray.remote(_model_info).options(**resources).remote(actor_settings))
        plan = make_plan(info, chunk_tokens, overlap_tokens, layout, jsonl_field, batch_size)
        found = discover(paths)
        report.skipped.extend(found.skipped)
        report.files_seen = len(found.files)
        with store.opened(qdrant, collection) as target_store:
            target_store.ensure(info.dim)
            todo = _changed(target_store, found.files, plan, force, report)
            if todo:
                dataset = ray.data.from_items([{"path": str(p)} for p in todo]).map_batches(
                    EmbedFiles,
                    fn_constructor_kwargs={"settings": actor_settings, "plan": plan},
                    batch_size=files_per_batch,
                    compute=ray.data.ActorPoolStrategy(size=actors),
                    **resources,
                )
                stream = (_decode(row["piece"]) for row in dataset.iter_rows())
                write_all(target_store, stream, len(todo), progress, report)
            handle_removed(target_store, paths, found.files, report)
    finally:
        if own_ray:
            ray.shutdown()
    report.seconds = time.perf_counter() - started
    log.info("ray ingest done: %s", report.as_dict())
    return report


def _changed(target_store: Store, files: Sequence[Path], plan: Plan, force: bool, report: IngestReport) -> list[Path]:
    """Files whose content hash (sha256 of the bytes, as the loader computes it) is not stored yet."""
    todo: list[Path] = []
    for path in files:
        if not force:
            try:
                digest = file_sha256(path)
            except LoadError:
                todo.append(path)  # the actor's loader reports why
                continue
            if pipeline.is_unchanged(target_store, source_key(path), plan.fingerprint(digest)):
                report.files_unchanged += 1
                continue
        todo.append(path)
    return todo
