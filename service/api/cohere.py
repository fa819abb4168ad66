"""The Cohere / Jina rerank dialect: POST /v1/rerank and POST /v2/rerank (Open WebUI's external reranker)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from service.api.compat import rerank_compat, rerank_headers, scorer_name, unit_scores
from service.api.dispatch import read_json
from service.api.errors import register_dialect, set_dialect
from service.api.responses import FastJSONResponse
from service.api.state import engine_of
from service.errors import ServiceError
from service.schemas.cohere import RerankRequest, RerankResponse


def render_cohere(error: ServiceError) -> dict[str, Any]:
    # Cohere answers {"message"}; Jina (FastAPI) {"detail"}: both, so either client shows the reason.
    return {"message": error.message, "detail": error.message, "type": error.kind, "param": error.param}


register_dialect("cohere", render_cohere)


def speaks_cohere(request: Request) -> None:
    set_dialect(request, "cohere")


router = APIRouter(tags=["cohere"], dependencies=[Depends(speaks_cohere)])


async def _rerank(request: Request, api_version: str) -> Response:
    req = RerankRequest.model_validate(await read_json(request))
    result = await rerank_compat(request, req.query, req.texts(), req.top_n, param="documents")
    results = []
    for item, score in zip(result.items, unit_scores(result), strict=True):
        entry: dict[str, Any] = {"index": item.index, "relevance_score": score}
        if req.return_documents:
            entry["document"] = req.document(item.index)
        results.append(entry)
    content = {
        "id": str(uuid.uuid4()),
        "model": scorer_name(engine_of(request), result),
        "results": results,
        "meta": {"api_version": {"version": api_version}, "billed_units": {"search_units": 1}},
        "usage": {"total_tokens": result.total_tokens},
    }
    return FastJSONResponse(content, headers=rerank_headers(result))


DESCRIPTION = (
    "Cohere/Jina rerank. `relevance_score` is 0..1 (sigmoid of the cross-encoder logit, or (cosine + 1) / 2 "
    "for the bi-encoder); results cover every document unless `top_n` is smaller. RERANK_COMPAT_METHOD picks "
    "the reranker; the `x-rerank-method` header says which ran."
)


@router.post("/v1/rerank", summary="Cohere v1 / Jina rerank", description=DESCRIPTION, response_model=RerankResponse)
async def rerank_v1(request: Request) -> Response:
    return await _rerank(request, "1")


@router.post("/v2/rerank", summary="Cohere v2 rerank", description=DESCRIPTION, response_model=RerankResponse)
async def rerank_v2(request: Request) -> Response:
    return await _rerank(request, "2")
