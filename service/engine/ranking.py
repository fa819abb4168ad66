"""Reranking strategy: bi-encoder cosine, cross-encoder, or bi-encoder pre-ranking then cross-encoder."""

from __future__ import annotations

from collections.abc import Sequence

from service.config import RerankMethodChoice
from service.engine.classes import WorkClass
from service.engine.pipeline import Pipeline
from service.engine.postprocess import sigmoid, top_k_order
from service.engine.results import RankedItem, RerankResult, Timings
from service.errors import FeatureUnavailable

RerankMethod = RerankMethodChoice  # one literal for the setting and the per-request choice


def choose_method(method: RerankMethod | str, default_method: str, has_scorer: bool) -> str:
    """'auto' means the cross-encoder when one is loaded (or as RERANK_DEFAULT_METHOD says)."""
    if method == "auto":
        method = default_method
    if method == "auto":
        return "cross-encoder" if has_scorer else "bi-encoder"
    if method == "cross-encoder" and not has_scorer:
        raise FeatureUnavailable(
            "a cross-encoder was requested but none is loaded; start the service with "
            "CROSS_ENCODER_MODEL set, or ask for the bi-encoder",
            param="use_cross_encoder",
        )
    return method


def cross_encoded_count(passages: int, keep: int | None, candidates: int) -> int:
    """How many passages the cross-encoder sees: all of them, or the bi-encoder's best `candidates`."""
    budget = max(candidates, keep or 0)
    return budget if keep is not None and passages > budget else passages


async def rank(
    pipeline: Pipeline,
    query: str,
    passages: Sequence[str],
    *,
    method: str,
    top_k: int | None,
    instruction: str | None,
    candidates: int,
    work_class: WorkClass,
) -> RerankResult:
    """Rank passages with the chosen `method` ("bi-encoder" or "cross-encoder"); the result says what really ran.

    With a cross-encoder and more passages than `candidates` (RERANK_CANDIDATES, and than top_k), the
    bi-encoder keeps the best candidates and only those are cross-encoded ("bi+cross-encoder"):
    every returned score then comes from the cross-encoder.
    """
    keep = min(top_k, len(passages)) if top_k is not None else None
    if method == "bi-encoder":
        cosines, tokens, timings = await pipeline.bi_encoder_scores(query, passages, instruction, work_class)
        items = [RankedItem(i, float(cosines[i]), float(cosines[i])) for i in top_k_order(cosines, keep)]
        return RerankResult(items, "bi-encoder", tokens, timings)
    chosen = list(range(len(passages)))
    method, tokens, timings = "cross-encoder", 0, Timings()
    count = cross_encoded_count(len(passages), keep, candidates)
    if count < len(passages):
        cosines, tokens, timings = await pipeline.bi_encoder_scores(query, passages, instruction, work_class)
        chosen = top_k_order(cosines, count)
        method = "bi+cross-encoder"
    logits, cross_tokens, cross_timings = await pipeline.cross_encoder_scores(
        query, [passages[i] for i in chosen], instruction, work_class
    )
    timings.merge(cross_timings)
    probabilities = sigmoid(logits)
    items = [RankedItem(chosen[j], float(probabilities[j]), float(logits[j])) for j in top_k_order(logits, keep)]
    return RerankResult(items, method, tokens + cross_tokens, timings)


__all__ = ["RerankMethod", "choose_method", "cross_encoded_count", "rank"]
