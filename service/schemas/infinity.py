"""Infinity / vLLM rerank wire shapes: POST /rerank {query, documents} (the body their clients send)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas.text import Text


class RerankRequest(BaseModel):
    """Infinity's RerankInput (vLLM's rerank body is a superset): fields it does not know are ignored, as there."""

    model_config = ConfigDict(extra="ignore", strict=True)

    query: Text = Field(..., examples=["Where is Munich?"])
    documents: list[Text] = Field(..., examples=[["Munich is in Germany.", "The sky is blue."]])
    return_documents: bool = Field(False, description="Include each result's document (a plain string).")
    raw_scores: bool = Field(False, description="Raw logits (or cosines) instead of 0..1 scores.")
    model: str | None = Field(None, description="Accepted for compatibility; the loaded reranker answers.")
    top_n: int | None = Field(None, gt=0, description="How many results (default: every document).")


class RerankObject(BaseModel):
    relevance_score: float
    index: int
    document: str | None = None


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class RerankResponse(BaseModel):
    object: Literal["rerank"] = "rerank"
    results: list[RerankObject]
    model: str
    usage: Usage
    id: str
    created: int
