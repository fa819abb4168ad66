"""One request through the stages: pre (cache, admission, tokens) → core (batchers) → raw vectors or logits."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from service.backends.base import ModelInfo, ScorerInfo
from service.engine.batch_records import BatchRecord
from service.engine.cache import CachedEmbedding
from service.engine.classes import WorkClass
from service.engine.core import Core
from service.engine.postprocess import check_finite, l2_normalize
from service.engine.pre import PreStage
from service.engine.results import EmbedResult, Timings


class Pipeline:
    """Raw model outputs for already prompted texts, ids or pairs; post-processing is the caller's."""

    def __init__(self, pre: PreStage, core: Core) -> None:
        self.pre = pre
        self.core = core
        self.info: ModelInfo = core.encoder.info
        self.scorer_info: ScorerInfo | None = core.scorer.info if core.scorer else None
        core.add_batch_observer(self._observe_cost)

    def _observe_cost(self, record: BatchRecord) -> None:
        if not record.failed:
            self.pre.admission.observe(record.batcher, record.tokens, record.seconds)

    async def embed_formatted(
        self,
        formatted: Sequence[str],
        *,
        truncate: bool,
        work_class: WorkClass,
        use_cache: bool = True,
        param: str = "texts",
    ) -> EmbedResult:
        """Raw vectors for prompt-formatted texts: cache hits, then admission, tokenising and the batcher."""
        pre = self.pre
        vectors: list[NDArray[np.float32] | None] = [None] * len(formatted)
        counts = [0] * len(formatted)
        misses: list[int] = []
        for i, text in enumerate(formatted):
            hit = pre.cache.get(text) if use_cache else None
            if hit is not None and (truncate or hit.tokens_total <= self.info.max_tokens):
                vectors[i], counts[i] = hit.vector, hit.tokens_used
            else:
                misses.append(i)
        timings = Timings()
        if misses:
            miss_texts = [formatted[i] for i in misses]
            with pre.admission.admit("embed", pre.estimate(miss_texts), work_class):
                started = time.perf_counter()
                ids, totals = await pre.tokens.texts(miss_texts, truncate=truncate, param=param)
                timings.tokenization = time.perf_counter() - started
                raw, batch_timings = await self.core.embed_batcher.submit(ids, work_class)
            check_finite(raw, "embeddings")
            timings.merge(batch_timings)
            for row, i in enumerate(misses):
                vectors[i], counts[i] = raw[row], len(ids[row])
                if use_cache:
                    pre.cache.put(formatted[i], CachedEmbedding(raw[row], len(ids[row]), totals[row]))
        stacked = np.stack(vectors) if formatted else np.zeros((0, self.info.dim), np.float32)  # type: ignore[arg-type]
        return EmbedResult(vectors=stacked, token_counts=counts, timings=timings)

    async def embed_ids(self, rows: Sequence[Sequence[int]], work_class: WorkClass) -> EmbedResult:
        """Raw vectors for token ids used as given (already checked against the vocabulary and limit)."""
        with self.pre.admission.admit("embed", sum(len(row) for row in rows), work_class):
            raw, timings = await self.core.embed_batcher.submit([list(row) for row in rows], work_class)
        return EmbedResult(vectors=raw, token_counts=[len(row) for row in rows], timings=timings)

    async def bi_encoder_scores(
        self, query: str, passages: Sequence[str], instruction: str | None, work_class: WorkClass = "interactive"
    ) -> tuple[NDArray[np.float32], int, Timings]:
        """Cosine of the query (as a query) with each passage (as a document)."""
        prompts = self.pre.prompts
        q = await self.embed_formatted(
            [prompts.format(query, "query", instruction)], truncate=True, work_class=work_class
        )
        docs = [prompts.format(p, "document") for p in passages]
        d = await self.embed_formatted(docs, truncate=True, work_class=work_class)
        q.timings.merge(d.timings)
        cosines = (l2_normalize(d.vectors) @ l2_normalize(q.vectors)[0]).astype(np.float32)
        return cosines, q.total_tokens + d.total_tokens, q.timings

    async def cross_encoder_scores(
        self,
        query: str,
        passages: Sequence[str],
        instruction: str | None = None,
        work_class: WorkClass = "interactive",
    ) -> tuple[NDArray[np.float32], int, Timings]:
        """Raw reranker logits for (query, passage) pairs; `instruction` reaches instruction-aware rerankers."""
        batcher, info = self.core.score_batcher, self.scorer_info
        assert batcher is not None and info is not None, "no reranker is loaded"
        pre = self.pre
        with pre.admission.admit("score", pre.estimate_pairs(query, passages, info.max_tokens), work_class):
            started = time.perf_counter()
            ids = await pre.tokens.pairs_of(query, passages, instruction)
            tokenization = time.perf_counter() - started
            logits, timings = await batcher.submit(ids, work_class)
        timings.tokenization = tokenization
        logits = logits.reshape(-1)
        check_finite(logits, "reranker scores")
        return logits, sum(len(row) for row in ids), timings
