"""The Hugging Face TEI dialect: /embed {inputs} and /rerank {texts} on the native paths, /info, /tokenize."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from service import __version__
from service.api.compat import check_items, compat_method, embed_input, rerank_compat, rerank_headers, unit_scores
from service.api.dispatch import read_json
from service.api.errors import register_dialect, set_dialect
from service.api.native import embed_dispatch, rerank_dispatch
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
from service.api.tei_tokens import tokens_of
from service.engine import Engine
from service.engine.prompts import InputType
from service.errors import InputTooLarge, ServiceError
from service.schemas.tei import EmbedRequest, Info, RerankRequest, SimpleToken, TokenizeRequest

_ERROR_TYPES = {
    "invalid_request": "Validation",
    "payload_too_large": "Validation",
    "unsupported": "Validation",
    "not_found": "Validation",
    "http_error": "Validation",
    "unsupported_media_type": "Validation",
    "invalid_host": "Validation",
    "overloaded": "Overloaded",
    "unavailable": "Unhealthy",
}


def render_tei(error: ServiceError) -> dict[str, Any]:
    return {"error": error.message, "error_type": _ERROR_TYPES.get(error.kind, "Backend")}


register_dialect("tei", render_tei)


def speaks_tei(request: Request) -> None:
    set_dialect(request, "tei")


router = APIRouter(tags=["tei"], dependencies=[Depends(speaks_tei)])


async def tei_embed(request: Request, body: dict[str, Any]) -> Response:
    req = EmbedRequest.model_validate(body)
    result = await embed_input(
        request,
        req.inputs,
        param="inputs",
        input_type="query" if req.prompt_name == "query" else "document",
        dimensions=req.dimensions,
        normalize=req.normalize,
        truncate=req.truncate is not False,
    )
    return await vectors_response(result.vectors, values=result.vectors.size, headers=timing_headers(result.timings))


async def check_fits(engine: Engine, query: str, texts: Sequence[str]) -> None:
    """truncate: false — refuse (413) what the reranker would cut; counted with the embedding tokenizer."""
    query_tokens, *text_tokens = await engine.count_tokens([query, *texts])
    if compat_method(engine) == "bi-encoder":
        limit, sizes = engine.info.max_tokens, text_tokens
    else:
        assert engine.scorer is not None
        limit, sizes = engine.scorer.info.max_tokens, [query_tokens + n for n in text_tokens]
    for i, size in enumerate(sizes):
        if size > limit:
            raise InputTooLarge(
                f"texts[{i}] needs about {size} tokens; the reranker takes {limit} (send truncate: true to cut it)",
                param="texts",
            )


async def tei_rerank(request: Request, body: dict[str, Any]) -> Response:
    req = RerankRequest.model_validate(body)
    if req.truncate is False:
        await check_fits(engine_of(request), req.query, req.texts)
    result = await rerank_compat(request, req.query, req.texts, None, param="texts")
    scores = [item.raw_score for item in result.items] if req.raw_scores else unit_scores(result)
    ranks = []
    for item, score in zip(result.items, scores, strict=True):
        rank: dict[str, Any] = {"index": item.index, "score": score}
        if req.return_text:
            rank["text"] = req.texts[item.index]
        ranks.append(rank)
    return FastJSONResponse(ranks, headers=rerank_headers(result))


embed_dispatch.register("tei", "inputs", EmbedRequest, tei_embed)
rerank_dispatch.register("tei", "texts", RerankRequest, tei_rerank)


@router.get("/info", summary="TEI-style model and router information", response_model=Info)
async def info(request: Request) -> Response:
    engine = engine_of(request)
    settings, model = engine.settings, engine.info
    pooling = {"lasttoken": "last_token"}.get(model.family.pooling or "", model.family.pooling or "model-config")
    content = {
        "model_id": model.name,
        "model_sha": None,
        "model_dtype": model.dtype,
        "model_type": {"embedding": {"pooling": pooling}},
        # No per-request cap exists here; about this many full-length inputs are admitted before 429.
        "max_concurrent_requests": max(
            1, int(engine.admission.max_wait_s / (model.max_tokens * engine.admission.seconds_per_token("embed")))
        ),
        "max_input_length": model.max_tokens,
        "max_batch_tokens": engine.limits.max_batch_tokens,
        "max_batch_requests": settings.max_batch_items,
        "max_client_batch_size": settings.max_items_per_request,
        "auto_truncate": True,
        "tokenization_workers": engine.tokens.workers,
        "version": __version__,
        "sha": None,
        "docker_label": None,
    }
    return FastJSONResponse(content)


@router.post("/tokenize", summary="TEI-style tokenisation with the served model's tokenizer")
async def tokenize(request: Request) -> Response:
    req = TokenizeRequest.model_validate(await read_json(request))
    engine = engine_of(request)
    texts = [req.inputs] if isinstance(req.inputs, str) else req.inputs
    check_items(engine, texts, "inputs")
    input_type: InputType = "query" if req.prompt_name == "query" else "document"
    formatted = [engine.prompts.format(text, input_type) for text in texts]
    tokens: list[list[SimpleToken]] = [await tokens_of(engine, text, req.add_special_tokens) for text in formatted]
    return FastJSONResponse([[t.model_dump() for t in row] for row in tokens])
