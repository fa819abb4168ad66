"""OpenAI wire shapes: POST /v1/embeddings, GET /v1/models (plus our optional `input_type`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr, ValidatorFunctionWrapHandler, field_validator
from pydantic_core import PydanticCustomError

from service.schemas.native import Strict
from service.schemas.text import no_blank_texts

# A string, a list of strings, one token-id list, or a list of token-id lists (ids of the SERVED
# model's tokenizer). OpenAI and TEI share this input union.
EmbeddingInput = StrictStr | list[StrictStr] | list[StrictInt] | list[list[StrictInt]]
INPUT_HELP = "a string, a list of strings, a list of token ids, or a list of token-id lists"


def check_input(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One readable sentence instead of pydantic's four union branches."""
    try:
        return handler(value)
    except ValueError as exc:
        raise PydanticCustomError("input_shape", f"must be {INPUT_HELP}") from exc


class EmbeddingsRequest(Strict):
    input: EmbeddingInput = Field(
        ...,
        description="Text(s) to embed, or token ids from the served model's own tokenizer.",
        examples=[["What is RAG?", "Qdrant is a vector database"]],
    )
    model: str | None = Field(
        None, description="Accepted for compatibility; the one loaded model answers (its name is echoed)."
    )
    # Nullable like the optional fields below: some clients send every field, unset ones as null.
    encoding_format: Literal["float", "base64"] | None = Field(
        "float", description="'base64' = little-endian float32 bytes, base64-encoded (the SDKs' default)."
    )
    dimensions: int | None = Field(None, description="Matryoshka: keep the first N components, then re-normalise.")
    user: str | None = Field(None, description="Accepted and ignored.")
    input_type: Literal["query", "document"] | None = Field(
        "document", description="Extension: 'query' adds the model's query instruction (Qwen3, E5, BGE)."
    )

    _check_input = field_validator("input", mode="wrap")(check_input)
    _no_blank = field_validator("input", mode="after")(no_blank_texts)


class Embedding(Strict):
    object: Literal["embedding"] = "embedding"
    embedding: list[float] | str = Field(..., description="Floats, or a base64 string of little-endian float32.")
    index: int


class Usage(Strict):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(Strict):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage


class Model(Strict):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(Strict):
    object: Literal["list"] = "list"
    data: list[Model]
