"""The OpenAI dialect: POST /v1/embeddings, GET /v1/models and GET /v1/models/{id}."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response

from service.api.compat import embed_input
from service.api.dispatch import read_json
from service.api.errors import register_dialect, set_dialect
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
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


def render_openai(error: ServiceError) -> dict[str, Any]:
    kind = _TYPES.get(error.kind, "server_error")
    return {"error": {"message": error.message, "type": kind, "param": error.param, "code": error.kind}}


register_dialect("openai", render_openai)


def speaks_openai(request: Request) -> None:
    set_dialect(request, "openai")


router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(speaks_openai)])


def encode_base64(vectors: np.ndarray[Any, Any]) -> list[str]:
    """Each row as little-endian float32 bytes, base64-encoded (what the OpenAI SDKs decode)."""
    rows = np.ascontiguousarray(vectors, dtype="<f4")
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in rows]


@router.post("/embeddings", summary="OpenAI-compatible embeddings", response_model=EmbeddingsResponse)
async def embeddings(request: Request) -> Response:
    req = EmbeddingsRequest.model_validate(await read_json(request))
    result = await embed_input(
        request, req.input, param="input", input_type=req.input_type or "document", dimensions=req.dimensions
    )
    vectors: list[Any] = encode_base64(result.vectors) if req.encoding_format == "base64" else list(result.vectors)
    content = {
        "object": "list",
        "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)],
        "model": engine_of(request).info.name,
        "usage": {"prompt_tokens": result.total_tokens, "total_tokens": result.total_tokens},
    }
    return await vectors_response(content, values=result.vectors.size, headers=timing_headers(result.timings))


def _model(engine: Engine) -> dict[str, Any]:
    return {"id": engine.info.name, "object": "model", "created": int(engine.started_at), "owned_by": "embedrank"}


@router.get("/models", summary="The loaded embedding model (n8n tests credentials here)", response_model=ModelList)
async def models(request: Request) -> Response:
    return FastJSONResponse({"object": "list", "data": [_model(engine_of(request))]})


@router.get("/models/{model_id:path}", summary="One model, or 404 in OpenAI's error shape", response_model=Model)
async def model(request: Request, model_id: str) -> Response:
    engine = engine_of(request)
    if model_id != engine.info.name:
        raise NotFound(f"The model '{model_id}' does not exist; this server serves '{engine.info.name}'", param="model")
    return FastJSONResponse(_model(engine))
