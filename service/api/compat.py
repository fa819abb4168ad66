"""Shared by the compat dialects: texts-or-ids embedding, the compat reranker, 0..1 scores, rerank headers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from fastapi import Request

from service.api.dialect import Dialect
from service.api.responses import timing_headers
from service.api.state import engine_of
from service.engine import Engine
from service.engine.engine import RerankMethod
from service.engine.postprocess import cosine_to_unit
from service.engine.prompts import InputType
from service.engine.results import EmbedResult, RerankResult
from service.errors import FeatureUnavailable, InvalidInput

EmbeddingInput = str | list[str] | list[int] | list[list[int]]


async def embed_input(
    request: Request,
    dialect: Dialect,
    value: EmbeddingInput,
    *,
    input_type: InputType = "document",
    dimensions: int | None = None,
    normalize: bool = True,
    truncate: bool = True,
) -> EmbedResult:
    """Texts through `engine.embed`; token ids of the SERVED model's tokenizer through `embed_token_ids`.

    One token-id list is one input. Limits are the engine's; its errors come back in `dialect`'s names.
    """
    engine = engine_of(request)
    items: list[str] | list[int] | list[list[int]] = [value] if isinstance(value, str) else value
    if not items or isinstance(items[0], str):
        work = engine.embed(items, input_type=input_type, dimensions=dimensions, normalize=normalize, truncate=truncate)  # type: ignore[arg-type]
        return await dialect.run(request, work)
    rows = [items] if isinstance(items[0], int) else items
    if input_type != "document" and engine.prompts.format("", input_type):
        # The instruction is text; it cannot be prepended to ids without guessing their tokens.
        raise InvalidInput(
            f"a {input_type} input needs text: {engine.info.name} adds a prompt, which token ids cannot carry",
            param="input_type",
        )
    return await dialect.run(request, engine.embed_token_ids(rows, dimensions=dimensions, normalize=normalize))  # type: ignore[arg-type]


def compat_method(engine: Engine) -> RerankMethod:
    """RERANK_COMPAT_METHOD resolved: Cohere/Jina/TEI/Infinity bodies have no switch, so the server decides."""
    method = engine.settings.rerank_compat_method
    if method == "auto":
        return "cross-encoder" if engine.scorer else "bi-encoder"
    if method == "cross-encoder" and engine.scorer is None:
        raise FeatureUnavailable(
            "RERANK_COMPAT_METHOD=cross-encoder but no cross-encoder is loaded; set CROSS_ENCODER_MODEL "
            "or RERANK_COMPAT_METHOD=auto"
        )
    return method


async def rerank_compat(
    request: Request, dialect: Dialect, query: str, passages: Sequence[str], top_n: int | None
) -> RerankResult:
    """Rank with the compat method; every document is scored when top_n is None or ≥ the count."""
    engine = engine_of(request)
    return await dialect.run(request, engine.rerank(query, passages, top_k=top_n, method=compat_method(engine)))


def unit_scores(result: RerankResult) -> list[float]:
    """Calibrated 0..1 relevance: cross-encoder items already carry sigmoid(logit); cosines map (c + 1) / 2."""
    if result.method != "bi-encoder":
        return [item.score for item in result.items]
    cosines = np.array([item.raw_score for item in result.items], dtype=np.float32)
    return [float(s) for s in cosine_to_unit(cosines)]


def scorer_name(engine: Engine, result: RerankResult) -> str:
    """The model whose scores the caller got."""
    return engine.scorer.info.name if engine.scorer and result.method != "bi-encoder" else engine.info.name


def rerank_headers(result: RerankResult) -> dict[str, str]:
    """Timing headers plus which method really ran (the compat bodies have no field for it)."""
    return {**timing_headers(result.timings), "x-rerank-method": result.method}
