"""Cohere / Jina rerank wire shapes: POST /v1/rerank and POST /v2/rerank."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from service.schemas.native import Strict


class Document(BaseModel):
    """A document object; Cohere v1 lets it carry more fields, which are echoed back untouched."""

    model_config = ConfigDict(extra="allow")

    text: StrictStr


class RerankRequest(Strict):
    query: StrictStr = Field(..., examples=["How to integrate Qdrant?"])
    documents: list[StrictStr | Document] = Field(
        ...,
        min_length=1,
        description="Strings or {text} objects.",
        examples=[["Qdrant is a Rust-based vector database", "LM Studio runs local models"]],
    )
    model: str | None = Field(None, description="Accepted for compatibility; the loaded reranker answers.")
    top_n: int | None = Field(None, ge=1, description="How many results (default: every document; no cap).")
    return_documents: bool | None = Field(False, description="Include each result's document.")
    max_tokens_per_doc: int | None = Field(
        None, ge=1, description="Accepted for compatibility; documents are cut at the model's own limit."
    )
    priority: int | None = Field(None, description="Accepted for compatibility and ignored.")

    def texts(self) -> list[str]:
        return [doc if isinstance(doc, str) else doc.text for doc in self.documents]

    def document(self, index: int) -> dict[str, Any]:
        doc = self.documents[index]
        return {"text": doc} if isinstance(doc, str) else doc.model_dump()


class RerankResult(BaseModel):
    index: int
    relevance_score: float = Field(..., description="0..1: sigmoid of the cross-encoder logit, or (cosine + 1) / 2.")
    document: dict[str, Any] | None = Field(None, description="Only with return_documents: true.")


class RerankResponse(BaseModel):
    id: str
    model: str
    results: list[RerankResult]
    meta: dict[str, Any]
    usage: dict[str, int]
