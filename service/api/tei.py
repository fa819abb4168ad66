"""The Hugging Face TEI dialect: /embed {inputs}, /rerank {texts}, POST / and /similarity, /info, /tokenize."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from fastapi import Request, Response

from service import __version__
from service.api.compat import compat_method, embed_input, rerank_compat, rerank_headers, unit_scores
from service.api.dialect import Dialect
from service.api.dispatch import read_json
from service.api.responses import FastJSONResponse, timing_headers, vectors_response
from service.api.state import engine_of
from service.api.tei_tokens import tokens_of
from service.engine import Engine
from service.engine.prompts import InputType
from service.errors import InputTooLarge, ServiceError
from service.schemas.tei import (
    EmbedRequest,
    Info,
    PromptName,
    RerankRequest,
    SimilarityRequest,
    SimpleToken,
    TokenizeRequest,
)

# TEI's closed set of error types (its ErrorType enum, serialised as is).
_ERROR_TYPES = {
    "invalid_request": "Validation",
    "payload_too_large": "Validation",
    "unsupported": "Validation",
    "not_found": "Validation",
    "http_error": "Validation",
    "unauthorized": "Validation",  # TEI answers a bare 401; its clients read only the status
    "unsupported_media_type": "Validation",
    "invalid_host": "Validation",
    "overloaded": "Overloaded",
    "timeout": "Overloaded",  # queued past REQUEST_TIMEOUT_S: the server had more work than time
    "unavailable": "Unhealthy",
}


def input_type_of(prompt_name: PromptName | None) -> InputType:
    return "query" if prompt_name == "query" else "document"


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


class TEI(Dialect):
    """Errors as {error, error_type}; bare JSON lists as answers."""

    name = "tei"
    fields: ClassVar[dict[str, str]] = {"texts": "inputs", "passages": "texts"}
    homes: ClassVar[dict[str, str]] = {
        "inputs": "POST /embed (TEI: {inputs})",
        "texts": "POST /rerank (TEI: {query, texts})",
    }

    def render(self, error: ServiceError) -> dict[str, Any]:
        return {"error": error.message, "error_type": _ERROR_TYPES.get(error.kind, "Backend")}

    def add_routes(self) -> None:
        self.shape("/embed", "inputs", EmbedRequest, self.embed)
        self.shape("/rerank", "texts", RerankRequest, self.rerank)
        self.router.add_api_route(
            "/",
            self.root,
            methods=["POST"],
            summary="TEI's root route: an embed body answers vectors, a similarity body {inputs: {source_sentence, "
            "sentences}} answers scores (huggingface_hub's InferenceClient on this URL)",
            openapi_extra=self.body(EmbedRequest, SimilarityRequest),
        )
        self.router.add_api_route(
            "/similarity",
            self.similarity_route,
            methods=["POST"],
            summary="TEI sentence similarity: the cosine of the source sentence with each sentence",
            openapi_extra=self.body(SimilarityRequest),
        )
        self.router.add_api_route(
            "/info", self.info, methods=["GET"], summary="TEI-style model and router information", response_model=Info
        )
        self.router.add_api_route(
            "/tokenize",
            self.tokenize,
            methods=["POST"],
            summary="TEI-style tokenisation with the served model's tokenizer",
            openapi_extra=self.body(TokenizeRequest),
        )

    async def embed(self, request: Request, body: Any) -> Response:
        req = EmbedRequest.model_validate(body)
        result = await embed_input(
            request,
            self,
            req.inputs,
            input_type=input_type_of(req.prompt_name),
            dimensions=req.dimensions,
            normalize=req.normalize,
            truncate=req.truncate is not False,
        )
        headers = timing_headers(result.timings)
        return await vectors_response(result.vectors, values=result.vectors.size, headers=headers)

    async def root(self, request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, dict) and isinstance(body.get("inputs"), dict):
            return await self.similarity(request, body)
        return await self.embed(request, body)

    async def similarity_route(self, request: Request) -> Response:
        return await self.similarity(request, await read_json(request))

    async def similarity(self, request: Request, body: Any) -> Response:
        req = SimilarityRequest.model_validate(body)
        params = req.parameters
        engine = engine_of(request)
        work = engine.embed(
            [req.inputs.source_sentence, *req.inputs.sentences],
            input_type=input_type_of(params.prompt_name if params else None),
            truncate=params is None or params.truncate is not False,
        )
        # The source sentence is inputs[0] in the engine's count: TEI counts it into the batch too.
        result = await self.run(request, work)
        scores = (result.vectors[1:] @ result.vectors[0]).astype(np.float32)
        return FastJSONResponse(scores, headers=timing_headers(result.timings))

    async def rerank(self, request: Request, body: Any) -> Response:
        req = RerankRequest.model_validate(body)
        if req.truncate is False:
            await check_fits(engine_of(request), req.query, req.texts)
        result = await rerank_compat(request, self, req.query, req.texts, None)
        scores = [item.raw_score for item in result.items] if req.raw_scores else unit_scores(result)
        ranks = []
        for item, score in zip(result.items, scores, strict=True):
            rank: dict[str, Any] = {"index": item.index, "score": score}
            if req.return_text:
                rank["text"] = req.texts[item.index]
            ranks.append(rank)
        return FastJSONResponse(ranks, headers=rerank_headers(result))

    async def info(self, request: Request) -> Response:
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

    async def tokenize(self, request: Request) -> Response:
        req = TokenizeRequest.model_validate(await read_json(request))
        engine = engine_of(request)
        texts = [req.inputs] if isinstance(req.inputs, str) else req.inputs
        try:
            engine.check_items(texts, "texts")
        except ServiceError as error:
            raise self.rename(error) from None
        formatted = [engine.prompts.format(text, input_type_of(req.prompt_name)) for text in texts]
        tokens: list[list[SimpleToken]] = [await tokens_of(engine, text, req.add_special_tokens) for text in formatted]
        return FastJSONResponse([[t.model_dump() for t in row] for row in tokens])
