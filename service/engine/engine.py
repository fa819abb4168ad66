"""The Engine facade: embed() and rerank() over one loaded model, through the pre → core → post pipeline."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Encoder, ModelInfo, Scorer
from service.config import Settings
from service.engine.batch_records import BatchObserver
from service.engine.batcher import Batcher
from service.engine.classes import WORK_CLASSES, WorkClass
from service.engine.core import Core
from service.engine.pipeline import Pipeline
from service.engine.postprocess import check_dimensions, finish_vectors
from service.engine.pre import PreStage
from service.engine.prompts import InputType
from service.engine.ranking import RerankMethod, choose_method, cross_encoded_count, rank
from service.engine.results import EmbedResult, RerankResult, Timings
from service.engine.warmup import warm_up
from service.errors import InputTooLarge, InvalidInput
from service.tokens.text import TokenPiece
from service.visible import BLANK_MESSAGE, has_visible_text

logger = logging.getLogger(__name__)


class Engine:
    """Owns the encoder (and optional scorer) and the three stages: pre (limits, prompts, cache, admission,
    tokens), core (batchers on the inference thread) and post (normalise, dimensions, sigmoid, top-k).

    `priority=` on embed/rerank declares the class of work (interactive or bulk); without it the HTTP
    layer's X-Embedrank-Priority header, else the request's size decides.
    """

    def __init__(self, encoder: Encoder, scorer: Scorer | None, settings: Settings) -> None:
        self.encoder = encoder
        self.scorer = scorer
        self.settings = settings
        self.pre = PreStage(encoder.info, encoder.text, scorer.pairs if scorer else None, settings)
        self.core = Core(encoder, scorer, settings)
        self.pipeline = Pipeline(self.pre, self.core)
        # The stages' parts by their long-standing names (metrics, /health, the console and tests read them).
        self.prompts, self.cache, self.tokens = self.pre.prompts, self.pre.cache, self.pre.tokens
        self.admission = self.pre.admission
        self.limits, self._executor = self.core.limits, self.core.executor
        self.embed_batcher, self.score_batcher = self.core.embed_batcher, self.core.score_batcher
        self.started_at = time.time()
        self.load_seconds = 0.0
        self.choices: dict[str, str] = {}  # start-up choices (backend, dtype) and why, for /health
        self.ready = False

    @property
    def info(self) -> ModelInfo:
        return self.encoder.info

    async def start(self) -> None:
        """Start the batchers and, if configured, warm every model up and time one batch of each."""
        self.core.start()
        if self.settings.warmup:
            await warm_up(self.pipeline)
        self.ready = True

    @property
    def batchers(self) -> list[Batcher]:
        return self.core.batchers

    def add_batch_observer(self, observer: BatchObserver) -> None:
        """Call `observer` after every batch of every model (metrics)."""
        self.core.add_batch_observer(observer)

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
        await self.core.stop(drain_timeout_s)
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
        priority: WorkClass | None = None,
    ) -> EmbedResult:
        """Vectors for `texts` in order; queries get the model's instruction prompt."""
        self.pre.check_items(texts, "texts")
        check_dimensions(dimensions, self.info.dim)
        formatted = [self.prompts.format(text, input_type, instruction) for text in texts]
        work_class = self.pre.classify(self.pre.estimate(formatted), priority)
        result = await self.pipeline.embed_formatted(formatted, truncate=truncate, work_class=work_class)
        result.vectors = finish_vectors(result.vectors, dimensions=dimensions, normalize=normalize)
        return result

    async def embed_token_ids(
        self,
        rows: Sequence[Sequence[int]],
        *,
        dimensions: int | None = None,
        normalize: bool = True,
        priority: WorkClass | None = None,
    ) -> EmbedResult:
        """Vectors for pre-tokenised inputs (OpenAI accepts token ids); ids are used as given."""
        self.pre.check_items(rows, "texts")
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
        work_class = self.pre.classify(sum(len(row) for row in rows), priority)
        result = await self.pipeline.embed_ids(rows, work_class)
        result.vectors = finish_vectors(result.vectors, dimensions=dimensions, normalize=normalize)
        return result

    async def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts as the model would see them (special tokens included), before truncation."""
        return await self.tokens.counts(texts)

    async def count_content_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts without special tokens, as TEI /tokenize lists them."""
        return await self.tokens.content_counts(texts)

    async def token_pieces(self, text: str, *, add_special_tokens: bool) -> list[TokenPiece]:
        """The tokens the model is fed for `text`, with their character spans (TEI /tokenize)."""
        return await self.tokens.pieces(text, add_special_tokens)

    # ---- reranking --------------------------------------------------------------------------

    async def rerank(
        self,
        query: str,
        passages: Sequence[str],
        *,
        top_k: int | None = None,
        method: RerankMethod = "auto",
        instruction: str | None = None,
        priority: WorkClass | None = None,
    ) -> RerankResult:
        """Passages ranked for the query, best first (see `ranking.rank` for the two stages)."""
        if len(query) > self.settings.max_chars_per_item:
            limit = self.settings.max_chars_per_item
            raise InputTooLarge(f"query has {len(query)} characters; at most {limit}", param="query")
        if not has_visible_text(query):
            raise InvalidInput(f"query {BLANK_MESSAGE}", param="query")
        self.pre.check_items(passages, "passages")
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
        chosen = choose_method(method, self.settings.rerank_default_method, self.scorer is not None)
        candidates = self.settings.rerank_candidates
        # The class follows the whole request's size: the passages, plus the query once per cross-encoded pair.
        cost = self.pre.estimate(passages)
        if chosen == "cross-encoder":
            pairs = cross_encoded_count(len(passages), top_k, candidates)
            cost += pairs * self.tokens.estimate_tokens(len(query))
        work_class = self.pre.classify(cost, priority)
        return await rank(
            self.pipeline, query, passages, method=chosen, top_k=top_k, instruction=instruction,
            candidates=candidates, work_class=work_class,
        )  # fmt: skip

    async def bi_encoder_scores(
        self, query: str, passages: Sequence[str], instruction: str | None
    ) -> tuple[NDArray[np.float32], int, Timings]:
        """Cosine of the query (as a query) with each passage (as a document)."""
        return await self.pipeline.bi_encoder_scores(query, passages, instruction)

    async def cross_encoder_scores(
        self, query: str, passages: Sequence[str], instruction: str | None = None
    ) -> tuple[NDArray[np.float32], int, Timings]:
        """Raw reranker logits for (query, passage) pairs; `instruction` reaches instruction-aware rerankers."""
        return await self.pipeline.cross_encoder_scores(query, passages, instruction)

    def check_items(self, items: Sequence[Any], name: str) -> None:
        """The per-request limits (count, characters per item); for routes that reach no other method."""
        self.pre.check_items(items, name)

    def check_body(self, body_bytes: int, priority: WorkClass | None = None) -> None:
        """Refuse (429) a request body of this size before it is read when it certainly will not be admitted."""
        self.pre.check_body(body_bytes, [b.name for b in self.batchers], priority)

    # ---- status -----------------------------------------------------------------------------

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
            "classes": self.class_stats(),
            "heap_trims": self.core.heap_trimmer.trims,
            "uptime_s": round(time.time() - self.started_at, 1),
        }

    def class_stats(self) -> dict[str, Any]:
        """Per class of work: admission counters and each batcher's requests, batches and waits."""
        settings = self.settings
        out: dict[str, Any] = {
            "enabled": settings.work_classes,
            "interactive_max_tokens": settings.interactive_max_tokens,
            "interactive_share": settings.interactive_share,
            "bulk_slice_ms": settings.bulk_slice_ms if settings.work_classes else 0.0,
        }
        for work_class in WORK_CLASSES:
            out[work_class] = {
                "admission": vars(self.admission.by_class[work_class]),
                "batchers": {
                    b.name: {**vars(b.scheduler.stats[work_class]), "queued_items": b.queued_items_of(work_class)}
                    for b in self.batchers
                },
            }
        return out


__all__ = ["Engine", "RerankMethod"]
