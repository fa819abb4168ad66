"""The original spec's wire shapes: POST /embed, POST /rerank, GET /health (plus our optional fields)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas.text import Text


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored), and types are strict: a boolean
    is not an integer (`top_k: true` is not 1), a string is not a number (`"8"`), nor a boolean (`"no"`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EmbedRequest(Strict):
    texts: list[Text] = Field(..., description="Texts to embed, in order.", examples=[["What is RAG?"]])
    batch_size: int = Field(
        32, ge=1, description="Accepted for compatibility; the server batches across requests itself."
    )
    input_type: Literal["query", "document"] = Field(
        "document", description="'query' adds the model's query instruction (Qwen3, E5, BGE)."
    )
    instruction: str | None = Field(
        None, description="Task text for instruction-tuned models' queries; default is the model's."
    )
    dimensions: int | None = Field(None, description="Matryoshka: keep the first N components, then re-normalise.")
    normalize: bool = Field(True, description="L2-normalise; false returns the raw pooled vectors.")
    truncate: bool = Field(True, description="Cut over-long inputs to the model's limit; false → 413.")


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbedResponse(BaseModel):
    vectors: list[list[float]]
    dim: int
    backend: str = Field(..., description="'<backend>:<model>', e.g. 'torch:Qwen/Qwen3-Embedding-4B'.")
    device: str
    model: str
    usage: Usage


class RerankRequest(Strict):
    query: Text = Field(..., examples=["How to integrate Qdrant?"])
    passages: list[Text] = Field(..., examples=[["Qdrant is a Rust-based vector database"]])
    top_k: int | None = Field(None, description="Return the best K (default: all).")
    use_cross_encoder: bool | None = Field(
        None,
        description="true: cross-encoder (4xx if none loaded); false: bi-encoder cosine; "
        "omitted: RERANK_DEFAULT_METHOD (auto = cross-encoder when loaded).",
    )
    instruction: str | None = Field(None, description="Query task text for instruction-tuned models.")


class RerankItem(BaseModel):
    text: str
    score: float = Field(..., description="Cosine (bi-encoder) or sigmoid of the cross-encoder logit.")
    index: int


class RerankResponse(BaseModel):
    results: list[RerankItem]
    backend: str
    device: str
    method: Literal["bi-encoder", "cross-encoder", "bi+cross-encoder"]
    usage: Usage


class HealthResponse(BaseModel):
    status: str = Field(..., description="'ok', or 'unhealthy' (with HTTP 503) when inference keeps failing.")
    problems: list[str] = Field(default_factory=list, description="Why it is unhealthy; empty when ok.")
    model: str
    backend: str = Field(
        ..., description="The runtime alone: 'torch', 'onnx' or 'mlx' (responses say '<runtime>:<model>')."
    )
    device: str
    dim: int
    max_tokens: int
    dtype: str = Field(..., description="Weights' precision as loaded, e.g. 'float32', 'bfloat16', 'int8' (ONNX).")
    family: str = Field(..., description="How the model is fed and pooled: 'encoder', 'qwen3-embedding', 'decoder'.")
    cross_encoder: str | None
    version: str
    stats: dict[str, Any] = Field(
        default_factory=dict, description="Cache, admission and batcher counters, uptime, event-loop lag."
    )
