"""Reranking strategy: bi-encoder cosine, cross-encoder, or bi-encoder pre-ranking then cross-encoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.engine.postprocess import sigmoid, top_k_order
from service.engine.results import RankedItem, RerankResult, Timings
from service.errors import FeatureUnavailable

if TYPE_CHECKING:
    from service.engine.engine import Engine, RerankMethod


def choose_method(engine: Engine, method: RerankMethod) -> str:
    """'auto' means the cross-encoder when one is loaded (or as RERANK_DEFAULT_METHOD says)."""
    if method == "auto":
        method = engine.settings.rerank_default_method
    if method == "auto":
        return "cross-encoder" if engine.scorer else "bi-encoder"
    if method == "cross-encoder" and engine.scorer is None:
        raise FeatureUnavailable(
            "a cross-encoder was requested but none is loaded; start the service with "
            "CROSS_ENCODER_MODEL set, or ask for the bi-encoder",
            param="use_cross_encoder",
        )
    return method


async def rank(
    engine: Engine,
    query: str,
    passages: Sequence[str],
    *,
    top_k: int | None,
    method: RerankMethod,
    instruction: str | None,
) -> RerankResult:
    """Rank passages; `method` in the result says what really ran.

    With a cross-encoder and more passages than RERANK_CANDIDATES (and than top_k), the
    bi-encoder keeps the best candidates and only those are cross-encoded ("bi+cross-encoder"):
    every returned score then comes from the cross-encoder.
    """
    chosen = choose_method(engine, method)
    keep = min(top_k, len(passages)) if top_k is not None else None
    if chosen == "bi-encoder":
        cosines, tokens, timings = await engine.bi_encoder_scores(query, passages, instruction)
        items = [RankedItem(i, float(cosines[i]), float(cosines[i])) for i in top_k_order(cosines, keep)]
        return RerankResult(items, "bi-encoder", tokens, timings)
    return await _cross_encode(engine, query, passages, keep, instruction)


async def _cross_encode(
    engine: Engine, query: str, passages: Sequence[str], keep: int | None, instruction: str | None
) -> RerankResult:
    candidates = list(range(len(passages)))
    method, tokens, timings = "cross-encoder", 0, Timings()
    budget = max(engine.settings.rerank_candidates, keep or 0)
    if keep is not None and len(passages) > budget:
        cosines, tokens, timings = await engine.bi_encoder_scores(query, passages, instruction)
        candidates = top_k_order(cosines, budget)
        method = "bi+cross-encoder"
    logits, cross_tokens, cross_timings = await engine.cross_encoder_scores(
        query, [passages[i] for i in candidates], instruction
    )
    timings.merge(cross_timings)
    probabilities = sigmoid(logits)
    items = [RankedItem(candidates[j], float(probabilities[j]), float(logits[j])) for j in top_k_order(logits, keep)]
    return RerankResult(items, method, tokens + cross_tokens, timings)


__all__ = ["choose_method", "rank"]
