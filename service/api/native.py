"""The native dialect (the original spec's): POST /embed {texts} and POST /rerank {query, passages}."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import Request, Response

from service.api.dialect import Dialect
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
from service.schemas.native import EmbedRequest, EmbedResponse, RerankRequest, RerankResponse


class Native(Dialect):
    """The engine's own field names; errors as {detail, type, param}."""

    name = "native"
    homes: ClassVar[dict[str, str]] = {
        "texts": "POST /embed (native: {texts})",
        "passages": "POST /rerank (native: {query, passages})",
    }

    def add_routes(self) -> None:
        self.shape("/embed", "texts", EmbedRequest, self.embed, EmbedResponse)
        self.shape("/rerank", "passages", RerankRequest, self.rerank, RerankResponse)

    async def embed(self, request: Request, body: dict[str, Any]) -> Response:
        req = EmbedRequest.model_validate(body)
        engine = engine_of(request)
        work = engine.embed(
            req.texts,
            input_type=req.input_type,
            instruction=req.instruction,
            dimensions=req.dimensions,
            normalize=req.normalize,
            truncate=req.truncate,
        )
        result = await self.run(request, work)
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

    async def rerank(self, request: Request, body: dict[str, Any]) -> Response:
        req = RerankRequest.model_validate(body)
        engine = engine_of(request)
        method = {None: "auto", True: "cross-encoder", False: "bi-encoder"}[req.use_cross_encoder]
        work = engine.rerank(req.query, req.passages, top_k=req.top_k, method=method, instruction=req.instruction)  # type: ignore[arg-type]
        result = await self.run(request, work)
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
