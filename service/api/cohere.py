"""The Cohere / Jina dialect: POST /v1/rerank, /v2/rerank (Open WebUI's external reranker), /v1/embed, /v2/embed."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from fastapi import Request, Response

from service.api.compat import rerank_compat, rerank_headers, scorer_name, unit_scores
from service.api.dialect import Dialect
from service.api.dispatch import read_json
from service.api.quantize import by_type
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
from service.api.truncate_start import keep_ends
from service.engine.prompts import InputType
from service.errors import FeatureUnavailable, InvalidInput, ServiceError
from service.schemas.cohere import EmbedRequest, EmbedV2Request, RerankRequest, RerankResponse

RERANK_DESCRIPTION = (
    "Cohere/Jina rerank. `relevance_score` is 0..1 (sigmoid of the cross-encoder logit, or (cosine + 1) / 2 "
    "for the bi-encoder); results cover every document unless `top_n` is smaller. RERANK_COMPAT_METHOD picks "
    "the reranker; the `x-rerank-method` header says which ran."
)
EMBED_DESCRIPTION = (
    "Cohere embed. input_type search_query adds the model's query prompt; embedding_types float, int8, uint8 "
    "(unit vector × 127, rounded; uint8 = int8 + 128), binary/ubinary (sign bits, 8 per byte; binary = ubinary "
    "− 128)"
)
_INPUT_TYPES: dict[str, InputType] = {
    "search_query": "query",
    "search_document": "document",
    "classification": "classification",
    "clustering": "clustering",
}


class Cohere(Dialect):
    """Errors as {message} (Cohere's SDK) plus {detail} (Jina's); invalid requests are 400 as Cohere answers."""

    name = "cohere"
    fields: ClassVar[dict[str, str]] = {"passages": "documents", "top_k": "top_n"}
    invalid_status = 400
    prefixes = ("/v2",)
    homes: ClassVar[dict[str, str]] = {"documents": "POST /v1/rerank or /v2/rerank (Cohere/Jina: {query, documents})"}

    def render(self, error: ServiceError) -> dict[str, Any]:
        return {"message": error.message, "detail": error.message, "type": error.kind, "param": error.param}

    def add_routes(self) -> None:
        for version in ("1", "2"):
            self.router.add_api_route(
                f"/v{version}/rerank",
                self.rerank_v1 if version == "1" else self.rerank_v2,
                methods=["POST"],
                summary=f"Cohere v{version} rerank" + (" / Jina rerank" if version == "1" else ""),
                description=RERANK_DESCRIPTION,
                response_model=RerankResponse,
                openapi_extra=self.body(RerankRequest),
            )
            self.router.add_api_route(
                f"/v{version}/embed",
                self.embed_v1 if version == "1" else self.embed_v2,
                methods=["POST"],
                summary=f"Cohere v{version} embed",
                description=EMBED_DESCRIPTION + (", base64 (float32 bytes)." if version == "2" else "."),
                openapi_extra=self.body(EmbedRequest if version == "1" else EmbedV2Request),
            )

    async def rerank_v1(self, request: Request) -> Response:
        return await self.rerank(request, "1")

    async def rerank_v2(self, request: Request) -> Response:
        return await self.rerank(request, "2")

    async def rerank(self, request: Request, api_version: str) -> Response:
        req = RerankRequest.model_validate(await read_json(request))
        result = await rerank_compat(request, self, req.query, req.texts(), req.top_n)
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

    async def embed_v1(self, request: Request) -> Response:
        return await self.embed(request, EmbedRequest.model_validate(await read_json(request)), "1")

    async def embed_v2(self, request: Request) -> Response:
        return await self.embed(request, EmbedV2Request.model_validate(await read_json(request)), "2")

    async def embed(self, request: Request, req: EmbedRequest, api_version: str) -> Response:
        engine = engine_of(request)
        dimensions = req.output_dimension if isinstance(req, EmbedV2Request) else None
        if req.images or (isinstance(req, EmbedV2Request) and req.inputs) or req.input_type == "image":
            raise FeatureUnavailable("this server embeds text only: send `texts`", param="texts")
        if isinstance(req, EmbedV2Request) and req.max_tokens is not None and req.max_tokens < engine.info.max_tokens:
            raise InvalidInput(
                f"max_tokens below the model's own limit ({engine.info.max_tokens}) is not supported; omit it",
                param="max_tokens",
            )
        input_type = _INPUT_TYPES[req.input_type or "search_document"]
        texts = req.texts
        if req.truncate == "START":
            texts = await self.run(request, keep_ends(engine, texts, input_type))
        work = engine.embed(texts, input_type=input_type, dimensions=dimensions, truncate=req.truncate != "NONE")
        result = await self.run(request, work, {**self.fields, "dimensions": "output_dimension"})
        meta = {"api_version": {"version": api_version}, "billed_units": {"input_tokens": result.total_tokens}}
        content: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": req.texts, "meta": meta}
        if api_version == "1" and req.embedding_types is None:
            content.update(embeddings=result.vectors, response_type="embeddings_floats")
        else:
            types: list[str] = list(req.embedding_types or ["float"])
            content.update(embeddings=by_type(result.vectors, types), response_type="embeddings_by_type")
        values = result.vectors.size * len(req.embedding_types or ["float"])
        return await vectors_response(content, values=values, headers=timing_headers(result.timings))
