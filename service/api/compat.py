"""Shared by the OpenAI, Cohere/Jina and TEI routers: the input union, the compat reranker, 0..1 scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from fastapi import Request

from service.api.dispatch import until_disconnect
from service.api.responses import timing_headers
from service.api.state import engine_of
from service.engine import Engine
from service.engine.engine import RerankMethod
from service.engine.postprocess import cosine_to_unit
from service.engine.prompts import InputType
from service.engine.results import EmbedResult, RerankResult
from service.errors import FeatureUnavailable, InputTooLarge, InvalidInput

EmbeddingInput = str | list[str] | list[int] | list[list[int]]


async def embed_input(
    request: Request,
    value: EmbeddingInput,
    *,
    param: str,
    input_type: InputType = "document",
    dimensions: int | None = None,
    normalize: bool = True,
    truncate: bool = True,
) -> EmbedResult:
    """Texts go through `engine.embed`; token ids (of the served model's tokenizer) through `embed_token_ids`."""
    engine = engine_of(request)
    items: list[str] | list[int] | list[list[int]] = [value] if isinstance(value, str) else value
    check_items(engine, items, param)
    if isinstance(items[0], str):
        work = engine.embed(items, input_type=input_type, dimensions=dimensions, normalize=normalize, truncate=truncate)
        return await until_disconnect(request, work)
    rows = [items] if isinstance(items[0], int) else items
    if input_type == "query" and engine.prompts.format("", "query"):
        # The query instruction is text; it cannot be prepended to ids without guessing their tokens.
        raise InvalidInput(
            f"a query needs text input: {engine.info.name} adds a query prompt, which token ids cannot carry",
            param="input_type",
        )
    return await until_disconnect(request, engine.embed_token_ids(rows, dimensions=dimensions, normalize=normalize))


def check_items(engine: Engine, items: Sequence[object], param: str) -> None:
    """The engine's limits, checked first so the message names this dialect's field, not ours."""
    settings = engine.settings
    if not items:
        raise InvalidInput(f"{param} must not be empty", param=param)
    if len(items) > settings.max_items_per_request:
        raise InputTooLarge(
            f"{param} has {len(items)} items; at most {settings.max_items_per_request} per request", param=param
        )
    for i, item in enumerate(items):
        if isinstance(item, str) and len(item) > settings.max_chars_per_item:
            raise InputTooLarge(
                f"{param}[{i}] has {len(item)} characters; at most {settings.max_chars_per_item}", param=param
            )


def check_rerank(engine: Engine, query: str, passages: Sequence[str], param: str) -> None:
    """The engine's rerank limits, checked here so the message names the caller's fields (`query`, `documents`)."""
    settings = engine.settings
    if len(passages) > settings.max_passages_per_rerank:
        raise InputTooLarge(
            f"{param} has {len(passages)} items; at most {settings.max_passages_per_rerank} per rerank request",
            param=param,
        )
    if len(query) > settings.max_chars_per_item:
        raise InputTooLarge(f"query has {len(query)} characters; at most {settings.max_chars_per_item}", param="query")


def compat_method(engine: Engine) -> RerankMethod:
    """RERANK_COMPAT_METHOD resolved: Cohere/Jina/TEI bodies have no switch, so the server decides."""
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
    request: Request, query: str, passages: Sequence[str], top_n: int | None, *, param: str
) -> RerankResult:
    """Rank with the compat method; every document is scored when top_n is None or ≥ the count."""
    engine = engine_of(request)
    check_items(engine, passages, param)
    check_rerank(engine, query, passages, param)
    work = engine.rerank(query, passages, top_k=top_n, method=compat_method(engine))
    return await until_disconnect(request, work)


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
