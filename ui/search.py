"""The Search tab: query a Qdrant collection made by `embedrank ingest`, through the in-process Engine."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr
import pandas as pd

from service.config import Settings
from service.engine import Engine, RerankResult
from ui.bridge import EngineBridge
from ui.handlers import shown

if TYPE_CHECKING:
    from integrations.qdrant import QdrantTarget
    from integrations.qdrant.searcher import SearchResult
    from integrations.qdrant.service_client import Reranked, ServiceInfo

logger = logging.getLogger(__name__)

SEARCH_COLUMNS = ["rank", "score", "vector score", "source", "chunk", "page", "text"]
DEFAULT_COLLECTION = "embedrank"  # the same default as `embedrank ingest`
# Choice → the helper's use_cross_encoder ("off" skips reranking altogether).
RERANK_CHOICES: dict[str, bool | None] = {"auto": None, "cross-encoder": True, "bi-encoder": False, "off": None}


MODE_CHOICES = ["hybrid", "dense", "bm25"]  # the same modes as `embedrank search --mode`


def qdrant_available() -> bool:
    """Whether the `qdrant` extra (Qdrant Edge + qdrant-client) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("qdrant_edge", "qdrant_client"))


@dataclass(frozen=True)
class ConsoleStore:
    """The one Qdrant store the console searches, fixed by the server's settings.

    Users pick a query and a collection (from `collections`), never a URL or a path: the server's
    Qdrant key goes to the configured server only, and no folder is opened or created on request.
    """

    url: str | None = None
    path: str = "./qdrant_data"
    api_key: str | None = None
    collections: tuple[str, ...] = (DEFAULT_COLLECTION,)  # ("*",) = any collection of the store

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleStore:
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return cls(settings.qdrant_url or None, settings.qdrant_path, key, tuple(settings.search_collection_list))

    @property
    def default_collection(self) -> str:
        return self.collections[0] if self.collections[0] != "*" else DEFAULT_COLLECTION

    def describe(self) -> str:
        return self.url if self.url else f"Qdrant Edge at {os.path.abspath(os.path.expanduser(self.path))}"

    def collection(self, name: str | None) -> str:
        """The requested collection if the settings allow it (blank = the default)."""
        name = (name or "").strip() or self.default_collection
        if "*" not in self.collections and name not in self.collections:
            allowed = ", ".join(self.collections)
            raise gr.Error(f"collection {name!r} is not searchable here; allowed: {allowed} (SEARCH_COLLECTIONS)")
        return name

    def target(self) -> QdrantTarget:
        from integrations.qdrant import QdrantTarget

        if self.url:
            return QdrantTarget(path=None, url=self.url, api_key=self.api_key)
        if not os.path.isdir(self.path):  # opening a local store creates it: search only what ingest wrote
            raise gr.Error(f"no Qdrant store at {self.path} (QDRANT_PATH); write one with `embedrank ingest`")
        return QdrantTarget(path=self.path)


class InProcessService:
    """The qdrant helper's service client, answered by the Engine in this process instead of over HTTP.

    Its methods are blocking (the helper is synchronous): call them from a worker thread; each one
    hops onto the server's event loop through the bridge.
    """

    def __init__(self, bridge: EngineBridge) -> None:
        self.bridge = bridge

    def health(self) -> ServiceInfo:
        from integrations.qdrant.service_client import ServiceInfo

        engine = self.bridge.engine()
        info = engine.info
        scorer = engine.scorer.info.name if engine.scorer else None
        return ServiceInfo(info.name, info.backend, info.device, info.dim, info.max_tokens, scorer)

    def embed(self, texts: Sequence[str], input_type: str = "document", batch_size: int = 32) -> list[list[float]]:
        kind: Any = "query" if input_type == "query" else "document"

        async def work(engine: Engine) -> list[list[float]]:
            result = await engine.embed(list(texts), input_type=kind)
            vectors: list[list[float]] = result.vectors.tolist()
            return vectors

        return self.bridge.call_blocking(work)

    def count_tokens(self, texts: Sequence[str], batch_size: int = 256) -> list[int] | None:
        """Exact counts without special tokens, as the client reads them from TEI /tokenize."""

        async def work(engine: Engine) -> list[int]:
            return await engine.count_content_tokens(list(texts))

        return self.bridge.call_blocking(work)

    def rerank(
        self, query: str, passages: Sequence[str], top_k: int | None = None, use_cross_encoder: bool | None = None
    ) -> Reranked:
        from integrations.qdrant.service_client import Reranked

        method: Any = {None: "auto", True: "cross-encoder", False: "bi-encoder"}[use_cross_encoder]

        async def work(engine: Engine) -> RerankResult:
            return await engine.rerank(query, list(passages), top_k=top_k, method=method)

        result = self.bridge.call_blocking(work)
        return Reranked(order=[(item.index, item.score) for item in result.items], method=result.method)

    def close(self) -> None:
        """Nothing to release: the Engine belongs to the app."""


class SearchHandlers:
    """The Search tab's handler."""

    def __init__(self, bridge: EngineBridge, store: ConsoleStore | None = None) -> None:
        self.service = InProcessService(bridge)
        self.store = store or ConsoleStore()

    @shown
    async def search(
        self,
        query: str,
        collection: str,
        top_k: float | None,
        candidates: float | None,
        rerank: str,
        mode: str = "hybrid",
    ) -> tuple[pd.DataFrame, str]:
        """Hits best first with source and chunk text, and a line saying how they were found and ranked.

        `mode`: "hybrid" (dense + BM25 fused by RRF), "dense" or "bm25", as `embedrank search --mode`.
        `rerank`: "auto" (the cross-encoder when one is loaded; else Qdrant's cosine order, which a
        bi-encoder rerank by the same model would only recompute), "cross-encoder", "bi-encoder" or "off".
        """
        if not qdrant_available():
            raise gr.Error("Search needs the qdrant extra: pip install 'embedrank[qdrant]', then restart the server")
        from integrations.qdrant import search
        from integrations.qdrant.store import StoreError

        name = self.store.collection(collection)
        target = self.store.target()
        try:
            # The helper is blocking (Qdrant I/O); a worker thread keeps the event loop free.
            result: SearchResult = await asyncio.to_thread(
                search,
                query,
                name,
                top_k=int(top_k or 5),
                rerank=rerank != "off",
                use_cross_encoder=RERANK_CHOICES.get(rerank),
                candidates=int(candidates or 50),
                mode=mode if mode in MODE_CHOICES else "hybrid",  # type: ignore[arg-type]  # checked here
                qdrant=target,
                service=self.service,  # type: ignore[arg-type]  # duck-typed EmbedrankClient
            )
        except (StoreError, ValueError, RuntimeError) as exc:
            raise gr.Error(str(exc)) from exc
        table = pd.DataFrame(
            [
                [hit.rank, round(hit.score, 4), round(hit.vector_score, 4), hit.source, hit.chunk_index,
                 hit.page, hit.text]
                for hit in result.hits
            ],
            columns=SEARCH_COLUMNS,
        )  # fmt: skip
        found_by, _, reranker = result.method.partition(" + ")
        ranked = f"found by {found_by}, " + (f"reranked with the {reranker}" if reranker else "store order only")
        summary = (
            f"**{len(result.hits)}** of {result.candidates} candidates from `{result.collection}` in "
            f"{target.describe()}, {ranked}, {result.seconds * 1000:.0f} ms"
        )
        return table, summary
