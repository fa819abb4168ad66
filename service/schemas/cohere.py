"""Cohere / Jina rerank wire shapes: POST /v1/rerank and POST /v2/rerank."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, field_validator
from pydantic_core import PydanticCustomError

from service.schemas.native import Strict
from service.schemas.text import Text


class Document(BaseModel):
    """A document object; Cohere v1 lets it carry more fields, which are echoed back untouched."""

    model_config = ConfigDict(extra="allow", strict=True)

    text: Text


class RerankRequest(Strict):
    query: Text = Field(..., examples=["How to integrate Qdrant?"])
    documents: list[Text | Document] = Field(
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

    @field_validator("documents", mode="wrap")
    @classmethod
    def _one_sentence(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """One readable sentence per bad document instead of pydantic's union branches (str | Document)."""
        try:
            return handler(value)
        except ValidationError as exc:
            loc = exc.errors()[0].get("loc", ())
            if not loc or not isinstance(loc[0], int):
                raise
            raise PydanticCustomError(
                "document_shape",
                'item {index} must be a non-empty string or an object with a non-empty string "text"',
                {"index": loc[0]},
            ) from exc

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
