"""The Engine facade: embed() and rerank() over one loaded model, batched, cached, post-processed."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Encoder, ModelInfo, Scorer
from service.config import RerankMethodChoice, Settings
from service.engine.admission import Admission
from service.engine.batcher import Batcher, BatchLimits, BatchObserver, BatchRecord
from service.engine.cache import CachedEmbedding, EmbeddingCache
from service.engine.postprocess import check_dimensions, check_finite, finish_vectors, l2_normalize
from service.engine.prompts import InputType, PromptFormatter
from service.engine.ranking import rank
from service.engine.results import EmbedResult, RerankResult, Timings
from service.engine.tokenize import TokenizeStage
from service.engine.warmup import batch_token_budget, warm_up
from service.errors import InputTooLarge, InvalidInput
from service.tokens.padding import TokenIds, pad_batch
from service.tokens.text import TokenPiece
from service.visible import BLANK_MESSAGE, has_visible_text

logger = logging.getLogger(__name__)

RerankMethod = RerankMethodChoice  # one literal for the setting and the per-request choice


class Engine:
    """Owns the encoder (and optional scorer), their batchers, the cache and the request limits."""

    def __init__(self, encoder: Encoder, scorer: Scorer | None, settings: Settings) -> None:
        self.encoder = encoder
        self.scorer = scorer
        self.settings = settings
        self.prompts = PromptFormatter(encoder.info, settings.default_instruction)
        self.cache = EmbeddingCache(int(settings.embed_cache_mb * 2**20))
        self.tokens = TokenizeStage(encoder.text, scorer.pairs if scorer else None)
        self.admission = Admission(settings.queue_wait_limit_s)
        # One inference thread: the model is one device; two threads would only fight over it.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self.limits = BatchLimits(
            max_batch_tokens=batch_token_budget(settings, encoder.info.device),
            max_batch_items=settings.max_batch_items,
            wait_s=settings.batch_wait_ms / 1000,
            sort_by_length=settings.batch_order == "length",
        )
        self.embed_batcher = Batcher("embed", self._encode_rows, self._executor, self.limits)
        self.score_batcher = Batcher("score", self._score_rows, self._executor, self.limits) if scorer else None
        self.add_batch_observer(self._observe_cost)
        self.started_at = time.time()
        self.load_seconds = 0.0
        self.ready = False

    @property
    def info(self) -> ModelInfo:
        return self.encoder.info

    # Padding happens here, on the inference thread, in one place for every backend.
    def _encode_rows(self, rows: Sequence[TokenIds]) -> NDArray[np.float32]:
        text = self.encoder.text
        return self.encoder.encode(pad_batch(rows, text.pad_id, text.padding_side))

    def _score_rows(self, rows: Sequence[TokenIds]) -> NDArray[np.float32]:
        assert self.scorer is not None
        pairs = self.scorer.pairs
        return self.scorer.score(pad_batch(rows, pairs.pad_id, pairs.padding_side))

    def _observe_cost(self, record: BatchRecord) -> None:
        if not record.failed:
            self.admission.observe(record.batcher, record.tokens, record.seconds)

    async def start(self) -> None:
        """Start the batchers and, if configured, warm every model up and time one batch of each."""
        self.embed_batcher.start()
        if self.score_batcher:
            self.score_batcher.start()
        if self.settings.warmup:
            await warm_up(self)
        self.ready = True

    @property
    def batchers(self) -> list[Batcher]:
        return [self.embed_batcher] + ([self.score_batcher] if self.score_batcher else [])

    def add_batch_observer(self, observer: BatchObserver) -> None:
        """Call `observer` after every batch of every model (metrics)."""
        for batcher in self.batchers:
            batcher.observers.append(observer)

    def health(self) -> list[str]:
        """Why the engine is unhealthy (empty = healthy): a dead inference worker, or a backend that
        keeps failing. Readiness is separate: a loading engine is not ready, but not unhealthy."""
        problems = []
        limit = self.settings.unhealthy_after_failures
        for batcher in self.batchers:
            if self.ready and not batcher.alive:
                problems.append(f"the {batcher.name} inference worker has stopped")
            if batcher.stats.consecutive_failures >= limit:
                problems.append(f"the last {batcher.stats.consecutive_failures} {batcher.name} batches failed")
        return problems

    async def stop(self, drain_timeout_s: float = 30.0) -> None:
        """Drain queued work, then release the inference thread and the tokenizer pool."""
        self.ready = False
        await self.embed_batcher.stop(drain_timeout_s)
        if self.score_batcher:
            await self.score_batcher.stop(drain_timeout_s)
        self._executor.shutdown(wait=True)
        self.tokens.close()

    # ---- embeddings -------------------------------------------------------------------------

    async def embed(
        self,
        texts: Sequence[str],
        *,
        input_type: InputType = "document",
        instruction: str | None = None,
        dimensions: int | None = None,
        normalize: bool = True,
        truncate: bool = True,
    ) -> EmbedResult:
        """Vectors for `texts` in order; queries get the model's instruction prompt."""
        self._check_items(texts, "texts")
        check_dimensions(dimensions, self.info.dim)
        formatted = [self.prompts.format(text, input_type, instruction) for text in texts]
        result = await self._embed_raw(formatted, truncate=truncate)
        result.vectors = finish_vectors(result.vectors, dimensions=dimensions, normalize=normalize)
        return result

    async def embed_token_ids(
        self, rows: Sequence[Sequence[int]], *, dimensions: int | None = None, normalize: bool = True
    ) -> EmbedResult:
        """Vectors for pre-tokenised inputs (OpenAI accepts token ids); ids are used as given."""
        self._check_items(rows, "texts")
        check_dimensions(dimensions, self.info.dim)
        vocab = self.info.vocab_size
        for i, row in enumerate(rows):
            if not row:
                raise InvalidInput(f"texts[{i}] is an empty token list", param="texts")
            if min(row) < 0 or (vocab is not None and max(row) >= vocab):
                allowed = f"0..{vocab - 1}" if vocab is not None else "0 and up"
                raise InvalidInput(
                    f"texts[{i}] holds token ids outside {allowed}: token ids must come from the served "
                    f"model's own tokenizer ({self.info.name}), not e.g. tiktoken",
                    param="texts",
                )
            if len(row) > self.info.max_tokens:
                raise InputTooLarge(
                    f"texts[{i}] has {len(row)} tokens; this model takes at most {self.info.max_tokens}",
                    param="texts",
                )
        with self.admission.admit("embed", sum(len(row) for row in rows)):
            raw, timings = await self.embed_batcher.submit([list(row) for row in rows])
        return EmbedResult(
            vectors=finish_vectors(raw, dimensions=dimensions, normalize=normalize),
            token_counts=[len(row) for row in rows],
            timings=timings,
        )

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts as the model would see them (special tokens included), before truncation."""
        return await self.tokens.counts(texts)

    async def count_content_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts without special tokens, as TEI /tokenize lists them."""
        return await self.tokens.content_counts(texts)

    async def token_pieces(self, text: str, *, add_special_tokens: bool) -> list[TokenPiece]:
        """The tokens the model is fed for `text`, with their character spans (TEI /tokenize)."""
        return await self.tokens.pieces(text, add_special_tokens)

    def _estimate(self, texts: Sequence[str], limit: int) -> int:
        return sum(min(self.tokens.estimate_tokens(len(text)), limit) for text in texts)

    async def _embed_raw(
        self, formatted: Sequence[str], *, truncate: bool, use_cache: bool = True, param: str = "texts"
    ) -> EmbedResult:
        vectors: list[NDArray[np.float32] | None] = [None] * len(formatted)
        counts = [0] * len(formatted)
        misses: list[int] = []
        for i, text in enumerate(formatted):
            hit = self.cache.get(text) if use_cache else None
            if hit is not None and (truncate or hit.tokens_total <= self.info.max_tokens):
                vectors[i], counts[i] = hit.vector, hit.tokens_used
            else:
                misses.append(i)
        timings = Timings()
        if misses:
            miss_texts = [formatted[i] for i in misses]
            with self.admission.admit("embed", self._estimate(miss_texts, self.info.max_tokens)):
                started = time.perf_counter()
                ids, totals = await self.tokens.texts(miss_texts, truncate=truncate, param=param)
                timings.tokenization = time.perf_counter() - started
                raw, batch_timings = await self.embed_batcher.submit(ids)
            check_finite(raw, "embeddings")
            timings.merge(batch_timings)
            for row, i in enumerate(misses):
                vectors[i], counts[i] = raw[row], len(ids[row])
                if use_cache:
                    self.cache.put(formatted[i], CachedEmbedding(raw[row], len(ids[row]), totals[row]))
        stacked = np.stack(vectors) if formatted else np.zeros((0, self.info.dim), np.float32)  # type: ignore[arg-type]
        return EmbedResult(vectors=stacked, token_counts=counts, timings=timings)

    # ---- reranking --------------------------------------------------------------------------

    async def rerank(
        self,
        query: str,
        passages: Sequence[str],
        *,
        top_k: int | None = None,
        method: RerankMethod = "auto",
        instruction: str | None = None,
    ) -> RerankResult:
        """Passages ranked for the query, best first (see `ranking.rank` for the two stages)."""
        if len(query) > self.settings.max_chars_per_item:
            limit = self.settings.max_chars_per_item
            raise InputTooLarge(f"query has {len(query)} characters; at most {limit}", param="query")
        if not has_visible_text(query):
            raise InvalidInput(f"query {BLANK_MESSAGE}", param="query")
        self._check_items(passages, "passages")
        if len(passages) > self.settings.max_passages_per_rerank:
            raise InputTooLarge(
                f"passages has {len(passages)} items; at most {self.settings.max_passages_per_rerank} "
                "per rerank request",
                param="passages",
            )
        if top_k is not None and top_k < 1:
            raise InvalidInput("top_k must be at least 1", param="top_k")
        if top_k is not None:  # asking for more than there is returns them all (Cohere's top_n does the same)
            top_k = min(top_k, len(passages))
        return await rank(self, query, passages, top_k=top_k, method=method, instruction=instruction)

    async def bi_encoder_scores(
        self, query: str, passages: Sequence[str], instruction: str | None
    ) -> tuple[NDArray[np.float32], int, Timings]:
        """Cosine of the query (as a query) with each passage (as a document)."""
        q = await self._embed_raw([self.prompts.format(query, "query", instruction)], truncate=True)
        docs = [self.prompts.format(p, "document") for p in passages]
        d = await self._embed_raw(docs, truncate=True)
        q.timings.merge(d.timings)
        cosines = (l2_normalize(d.vectors) @ l2_normalize(q.vectors)[0]).astype(np.float32)
        return cosines, q.total_tokens + d.total_tokens, q.timings

    async def cross_encoder_scores(
        self, query: str, passages: Sequence[str], instruction: str | None = None
    ) -> tuple[NDArray[np.float32], int, Timings]:
        """Raw reranker logits for (query, passage) pairs; `instruction` reaches instruction-aware rerankers."""
        assert self.scorer is not None and self.score_batcher is not None
        # The query is repeated in every pair: its cost counts once per pair, cut to the reranker's limit.
        limit = self.scorer.info.max_tokens
        query_cost = self.tokens.estimate_tokens(len(query))
        estimate = sum(min(query_cost + self.tokens.estimate_tokens(len(p)), limit) for p in passages)
        with self.admission.admit("score", estimate):
            started = time.perf_counter()
            ids = await self.tokens.pairs_of(query, passages, instruction)
            tokenization = time.perf_counter() - started
            logits, timings = await self.score_batcher.submit(ids)
        timings.tokenization = tokenization
        logits = logits.reshape(-1)
        check_finite(logits, "reranker scores")
        return logits, sum(len(row) for row in ids), timings

    # ---- limits and status ------------------------------------------------------------------

    def check_items(self, items: Sequence[Any], name: str) -> None:
        """The per-request limits (count, characters per item); for routes that reach no other method."""
        self._check_items(items, name)

    def _check_items(self, items: Sequence[Any], name: str) -> None:
        if len(items) == 0:
            raise InvalidInput(f"{name} must not be empty", param=name)
        if len(items) > self.settings.max_items_per_request:
            raise InputTooLarge(
                f"{name} has {len(items)} items; at most {self.settings.max_items_per_request} per request",
                param=name,
            )
        limit = self.settings.max_chars_per_item
        for i, item in enumerate(items):
            if isinstance(item, str) and len(item) > limit:
                raise InputTooLarge(f"{name}[{i}] has {len(item)} characters; at most {limit}", param=name)
            # The wire schemas refuse these first (naming their field); this covers every other caller.
            if isinstance(item, str) and not has_visible_text(item):
                raise InvalidInput(f"{name}[{i}] {BLANK_MESSAGE}", param=name)

    def stats(self) -> dict[str, Any]:
        """Counters for /health and the console."""
        batchers = self.batchers
        return {
            "cache": self.cache.stats(),
            "admission": {**vars(self.admission.stats), "max_wait_s": self.admission.max_wait_s},
            "batchers": {
                b.name: {**vars(b.stats), "queued_items": b.queued_items, "queued_tokens": b.queued_tokens}
                for b in batchers
            },
            "uptime_s": round(time.time() - self.started_at, 1),
        }
