"""The Infinity / vLLM dialect: POST /rerank {query, documents, top_n, return_documents, raw_scores}."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from fastapi import Request, Response

from service.api.compat import rerank_compat, rerank_headers, scorer_name, unit_scores
from service.api.dialect import Dialect
from service.api.responses import FastJSONResponse
from service.api.state import engine_of
from service.errors import InvalidInput, ServiceError
from service.schemas.infinity import RerankRequest


class Infinity(Dialect):
    """FastAPI's 422 {detail: [{loc, msg, type}]} for invalid bodies (Infinity's client parses that list);
    other errors in Infinity's OpenAI-style {error: {message, type, param, code}}."""

    name = "infinity"
    fields: ClassVar[dict[str, str]] = {"passages": "documents", "top_k": "top_n"}
    homes: ClassVar[dict[str, str]] = {"documents": "POST /rerank (Infinity/vLLM: {query, documents})"}

    def render(self, error: ServiceError) -> dict[str, Any]:
        if isinstance(error, InvalidInput):
            where = ["body", error.param] if error.param else ["body"]
            details = error.details or [{"loc": where, "msg": error.message, "type": "value_error"}]
            return {"detail": details}
        return {"error": {"message": error.message, "type": error.kind, "param": error.param, "code": error.status}}

    def add_routes(self) -> None:
        self.shape("/rerank", "documents", RerankRequest, self.rerank)

    async def rerank(self, request: Request, body: dict[str, Any]) -> Response:
        req = RerankRequest.model_validate(body)
        result = await rerank_compat(request, self, req.query, req.documents, req.top_n)
        scores = [item.raw_score for item in result.items] if req.raw_scores else unit_scores(result)
        results = []
        for item, score in zip(result.items, scores, strict=True):
            document = req.documents[item.index] if req.return_documents else None
            results.append({"relevance_score": score, "index": item.index, "document": document})
        content = {
            "object": "rerank",
            "results": results,
            "model": scorer_name(engine_of(request), result),
            "usage": {"prompt_tokens": result.total_tokens, "total_tokens": result.total_tokens},
            "id": f"embedrank-{uuid.uuid4()}",
            "created": int(time.time()),
        }
        return FastJSONResponse(content, headers=rerank_headers(result))
