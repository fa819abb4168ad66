"""The OpenAI dialect: /v1/embeddings and /v1/models, and the same handlers at the root (Infinity-style clients)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from fastapi import Request, Response

from service.api.compat import EmbeddingInput, embed_input
from service.api.dialect import Dialect
from service.api.dispatch import read_json
from service.api.quantize import base64_floats
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
from service.api.token_ids import decode_cl100k
from service.engine import Engine
from service.errors import NotFound, ServiceError
from service.schemas.openai import EmbeddingsRequest, EmbeddingsResponse, Model, ModelList

# OpenAI's error `type`s; our `kind` goes into `code`.
_TYPES = {
    "invalid_request": "invalid_request_error",
    "payload_too_large": "invalid_request_error",
    "unsupported": "invalid_request_error",
    "http_error": "invalid_request_error",
    "not_found": "invalid_request_error",
    "unsupported_media_type": "invalid_request_error",
    "invalid_host": "invalid_request_error",
    "overloaded": "rate_limit_error",
    "unauthorized": "invalid_request_error",  # what OpenAI answers for a wrong or missing key
}


def _model(engine: Engine) -> dict[str, Any]:
    return {"id": engine.info.name, "object": "model", "created": int(engine.started_at), "owned_by": "embedrank"}


class OpenAI(Dialect):
    """Errors as {error: {message, type, param, code}}; invalid requests are 400, as OpenAI answers them."""

    name = "openai"
    fields: ClassVar[dict[str, str]] = {"texts": "input"}
    invalid_status = 400
    prefixes = ("/v1",)  # the OpenAI SDKs own /v1: a typo'd path there answers in their shape
    homes: ClassVar[dict[str, str]] = {"input": "POST /v1/embeddings (OpenAI: {input})"}

    def render(self, error: ServiceError) -> dict[str, Any]:
        kind = _TYPES.get(error.kind, "server_error")
        return {"error": {"message": error.message, "type": kind, "param": error.param, "code": error.kind}}

    def add_routes(self) -> None:
        for prefix in ("/v1", ""):
            self.router.add_api_route(
                f"{prefix}/embeddings",
                self.embeddings,
                methods=["POST"],
                summary="OpenAI-compatible embeddings",
                response_model=EmbeddingsResponse,
                openapi_extra=self.body(EmbeddingsRequest),
            )
            self.router.add_api_route(
                f"{prefix}/models",
                self.models_list,
                methods=["GET"],
                summary="The loaded embedding model (n8n tests credentials here)",
                response_model=ModelList,
            )
            self.router.add_api_route(
                f"{prefix}/models/{{model_id:path}}",
                self.model,
                methods=["GET"],
                summary="One model, or 404 in OpenAI's error shape",
                response_model=Model,
            )

    async def texts_of(self, request: Request, value: EmbeddingInput) -> EmbeddingInput:
        """Token ids mean cl100k_base ids here (OPENAI_TOKEN_IDS=cl100k_base): decoded to the text they encode."""
        if isinstance(value, str) or not value or isinstance(value[0], str):
            return value
        if engine_of(request).settings.openai_token_ids == "model":
            return value
        rows: list[list[int]] = [value] if isinstance(value[0], int) else value  # type: ignore[list-item]
        return await asyncio.to_thread(decode_cl100k, rows, "input")

    async def embeddings(self, request: Request) -> Response:
        req = EmbeddingsRequest.model_validate(await read_json(request))
        value = await self.texts_of(request, req.input)
        result = await embed_input(
            request, self, value, input_type=req.input_type or "document", dimensions=req.dimensions
        )
        vectors: list[Any] = (  # base64: what the OpenAI SDKs ask for and decode
            base64_floats(result.vectors) if req.encoding_format == "base64" else list(result.vectors)
        )
        content = {
            "object": "list",
            "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)],
            "model": engine_of(request).info.name,
            "usage": {"prompt_tokens": result.total_tokens, "total_tokens": result.total_tokens},
        }
        return await vectors_response(content, values=result.vectors.size, headers=timing_headers(result.timings))

    async def models_list(self, request: Request) -> Response:
        return FastJSONResponse({"object": "list", "data": [_model(engine_of(request))]})

    async def model(self, request: Request, model_id: str) -> Response:
        engine = engine_of(request)
        if model_id != engine.info.name:
            raise NotFound(
                f"The model '{model_id}' does not exist; this server serves '{engine.info.name}'", param="model"
            )
        return FastJSONResponse(_model(engine))
