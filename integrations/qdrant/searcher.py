"""Search a collection: dense, BM25 or hybrid (RRF) candidates from the store, then the service's /rerank."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from integrations.qdrant import bm25
from integrations.qdrant.service_client import EmbedrankClient, service_url_from_env
from integrations.qdrant.store import MODES, TEXT_KEYS, Found, Mode, QdrantTarget, Store, StoreError
from integrations.qdrant.store import opened as open_store_cm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchHit:
    """One ranked chunk; `score` is the rerank score when reranked, else the store's (cosine, BM25 or RRF)."""

    rank: int
    score: float
    vector_score: float
    text: str
    source: str
    name: str
    title: str
    page: int | None
    headings: str
    chunk_index: int | None
    point_id: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    """Hits best first plus how they were found and ranked (`method`: the mode, then " + " the rerank method)."""

    query: str
    collection: str
    method: str
    candidates: int
    seconds: float
    hits: list[SearchHit]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def search(
    query: str,
    collection: str,
    *,
    mode: Mode = "hybrid",
    top_k: int = 5,
    rerank: bool = True,
    candidates: int = 50,
    use_cross_encoder: bool | None = None,
    service_url: str | None = None,
    api_key: str | None = None,
    qdrant: QdrantTarget | None = None,
    service: Any = None,
    store: Store | None = None,
) -> SearchResult:
    """Return the `top_k` best chunks for `query`; reranks `candidates` retrieved ones when `rerank`.

    `mode`: "dense" (the query's embedding), "bm25" (keywords) or "hybrid" (both, fused by RRF;
    the default). A collection without BM25 vectors (made by another tool) answers hybrid with
    dense and says so in `method`.

    `use_cross_encoder=None` reranks with the service's cross-encoder when it has one and skips
    /rerank otherwise: a bi-encoder rerank by the same model re-embeds every candidate only to
    recompute the cosines Qdrant already returned. `False` forces the bi-encoder rerank anyway.

    `service_url` defaults to EMBEDRANK_SERVICE_URL, then http://localhost:9000. Pass `service` to
    reuse one HTTP client across calls, `store` to reuse an open store (it stays open).
    """
    if not query.strip():
        raise ValueError("query is empty")
    if top_k < 1 or candidates < 1:
        raise ValueError("top_k and candidates must be >= 1")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    qdrant = qdrant or QdrantTarget()
    started = time.perf_counter()
    own_service = service is None
    svc = service or EmbedrankClient(service_url or service_url_from_env(), api_key)
    try:
        if rerank and use_cross_encoder is None:
            rerank = svc.health().cross_encoder is not None
        opened = nullcontext(store) if store is not None else open_store_cm(qdrant, collection)
        with opened as coll:
            dim = coll.dim()
            if dim is None:
                raise StoreError(f"{coll.describe()} does not exist; run `embedrank ingest` first")
            used: Mode = mode
            if mode != "dense" and not coll.has_sparse():
                if mode == "bm25":
                    raise StoreError(f"{coll.describe()} has no BM25 vectors (made by another tool); use --mode dense")
                used = "dense"
            dense = svc.embed([query], input_type="query")[0] if used != "bm25" else None
            if dense is not None and dim != len(dense):
                raise StoreError(
                    f"{coll.describe()} holds {dim}-dim vectors but the service embeds "
                    f"{len(dense)}-dim ones; search with the model the collection was built with"
                )
            sparse = bm25.embed_query(query) if used != "dense" else None
            limit = max(candidates, top_k) if rerank else top_k
            points = coll.search(dense, sparse, used, limit)
        found = [_candidate(point) for point in points]
        method = used if used == mode else f"{used} (no BM25 vectors in the collection)"
        ranked: list[tuple[int, float]] = [(i, c["vector_score"]) for i, c in enumerate(found)][:top_k]
        if rerank and found:
            outcome = svc.rerank(query, [c["text"] for c in found], top_k=top_k, use_cross_encoder=use_cross_encoder)
            method, ranked = f"{method} + {outcome.method}", outcome.order[:top_k]
    finally:
        if own_service:
            svc.close()
    hits = [SearchHit(rank=rank, score=score, **found[index]) for rank, (index, score) in enumerate(ranked, 1)]
    return SearchResult(query, collection, method, len(found), time.perf_counter() - started, hits)


def _candidate(point: Found) -> dict[str, Any]:
    payload = point.payload or {}
    text = next((payload[key] for key in TEXT_KEYS if isinstance(payload.get(key), str)), "")
    raw = payload.get("metadata")
    metadata: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "vector_score": float(point.score),
        "text": text,
        "source": str(metadata.get("source", "")),
        "name": str(metadata.get("name", "")),
        "title": str(metadata.get("title", "")),
        "page": metadata.get("page"),
        "headings": str(metadata.get("headings", "")),
        "chunk_index": metadata.get("chunk_index"),
        "point_id": str(point.id),
        "metadata": metadata,
    }
