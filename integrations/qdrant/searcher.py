"""Search a collection: embed the question as a query, fetch candidates from Qdrant, rerank via /rerank."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from integrations.qdrant import store
from integrations.qdrant.service_client import DEFAULT_SERVICE_URL, EmbedrankClient
from integrations.qdrant.store import QdrantTarget

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchHit:
    """One ranked chunk; `score` is the rerank score when reranked, else the cosine from Qdrant."""

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
    """Hits best first plus how they were ranked (`method`: "vector" or the service's rerank method)."""

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
    top_k: int = 5,
    rerank: bool = True,
    candidates: int = 50,
    use_cross_encoder: bool | None = None,
    service_url: str = DEFAULT_SERVICE_URL,
    api_key: str | None = None,
    qdrant: QdrantTarget | None = None,
    service: EmbedrankClient | None = None,
    qdrant_client: QdrantClient | None = None,
) -> SearchResult:
    """Return the `top_k` best chunks for `query`; reranks `candidates` nearest ones when `rerank`.

    `use_cross_encoder=None` reranks with the service's cross-encoder when it has one and skips
    /rerank otherwise: a bi-encoder rerank by the same model re-embeds every candidate only to
    recompute the cosines Qdrant already returned. `False` forces the bi-encoder rerank anyway.

    Pass `service` to reuse one HTTP client across calls. Without `qdrant_client` each call opens
    and closes Qdrant (local mode locks its folder and loads every point at open); a long-lived
    caller such as the console can pass its own open client instead (it stays open).
    """
    if not query.strip():
        raise ValueError("query is empty")
    if top_k < 1 or candidates < 1:
        raise ValueError("top_k and candidates must be >= 1")
    qdrant = qdrant or QdrantTarget()
    started = time.perf_counter()
    own_service = service is None
    svc = service or EmbedrankClient(service_url, api_key)
    try:
        query_vector = svc.embed([query], input_type="query")[0]
        if rerank and use_cross_encoder is None:
            rerank = svc.health().cross_encoder is not None
        opened = nullcontext(qdrant_client) if qdrant_client is not None else store.open_client(qdrant)
        with opened as client:
            dim = store.collection_dim(client, collection, qdrant.vector_name)
            if dim is None:
                raise store.StoreError(
                    f"collection {collection!r} does not exist in {qdrant.describe()}; run `embedrank ingest` first"
                )
            if dim != len(query_vector):
                raise store.StoreError(
                    f"collection {collection!r} holds {dim}-dim vectors but the service embeds "
                    f"{len(query_vector)}-dim ones; search with the model the collection was built with"
                )
            limit = max(candidates, top_k) if rerank else top_k
            points = client.query_points(
                collection, query=query_vector, using=qdrant.vector_name, limit=limit, with_payload=True
            ).points
        found = [_candidate(point) for point in points]
        method = "vector"
        ranked: list[tuple[int, float]] = [(i, c["vector_score"]) for i, c in enumerate(found)][:top_k]
        if rerank and found:
            outcome = svc.rerank(query, [c["text"] for c in found], top_k=top_k, use_cross_encoder=use_cross_encoder)
            method, ranked = outcome.method, outcome.order[:top_k]
    finally:
        if own_service:
            svc.close()
    hits = [SearchHit(rank=rank, score=score, **found[index]) for rank, (index, score) in enumerate(ranked, 1)]
    return SearchResult(query, collection, method, len(found), time.perf_counter() - started, hits)


def _candidate(point: Any) -> dict[str, Any]:
    payload = point.payload or {}
    text = next((payload[key] for key in store.TEXT_KEYS if isinstance(payload.get(key), str)), "")
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
