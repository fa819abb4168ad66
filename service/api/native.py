"""The original spec's routes: POST /embed and POST /rerank (other dialects share these paths)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.api.compat import check_rerank
from service.api.dispatch import ShapeDispatcher, until_disconnect
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
from service.schemas.native import EmbedRequest, EmbedResponse, RerankRequest, RerankResponse

router = APIRouter(tags=["native"])

embed_dispatch = ShapeDispatcher("/embed")
rerank_dispatch = ShapeDispatcher("/rerank")


async def native_embed(request: Request, body: dict[str, Any]) -> Response:
    req = EmbedRequest.model_validate(body)
    engine = engine_of(request)
    result = await until_disconnect(
        request,
        engine.embed(
            req.texts,
            input_type=req.input_type,
            instruction=req.instruction,
            dimensions=req.dimensions,
            normalize=req.normalize,
            truncate=req.truncate,
        ),
    )
    info = engine.info
    content = {
        "vectors": result.vectors,
        "dim": int(result.vectors.shape[1]),
        "backend": f"{info.backend}:{info.name}",
        "device": info.device,
        "model": info.name,
        "usage": {"prompt_tokens": result.total_tokens, "total_tokens": result.total_tokens},
    }
    return await vectors_response(content, values=result.vectors.size, headers=timing_headers(result.timings))


async def native_rerank(request: Request, body: dict[str, Any]) -> Response:
    req = RerankRequest.model_validate(body)
    engine = engine_of(request)
    check_rerank(engine, req.query, req.passages, "passages")
    method = {None: "auto", True: "cross-encoder", False: "bi-encoder"}[req.use_cross_encoder]
    result = await until_disconnect(
        request,
        engine.rerank(req.query, req.passages, top_k=req.top_k, method=method, instruction=req.instruction),  # type: ignore[arg-type]
    )
    info = engine.info
    content = {
        "results": [
            {"text": req.passages[item.index], "score": item.score, "index": item.index} for item in result.items
        ],
        "backend": f"{info.backend}:{info.name}",
        "device": info.device,
        "method": result.method,
        "usage": {"prompt_tokens": result.total_tokens, "total_tokens": result.total_tokens},
    }
    return FastJSONResponse(content, headers=timing_headers(result.timings))


embed_dispatch.register("native", "texts", EmbedRequest, native_embed)
rerank_dispatch.register("native", "passages", RerankRequest, native_rerank)


@router.post(
    "/embed",
    summary="Embed texts (native body {texts}; TEI body {inputs})",
    response_model=EmbedResponse,
    openapi_extra=embed_dispatch.openapi(),
)
async def embed(request: Request) -> Response:
    return await embed_dispatch(request)


@router.post(
    "/rerank",
    summary="Rank passages for a query (native body {query, passages}; TEI body {query, texts})",
    response_model=RerankResponse,
    openapi_extra=rerank_dispatch.openapi(),
)
async def rerank(request: Request) -> Response:
    return await rerank_dispatch(request)
