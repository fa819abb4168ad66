"""Cohere / Jina wire shapes: rerank (POST /v1/rerank, /v2/rerank) and embed (POST /v1/embed, /v2/embed)."""

from __future__ import annotations

from typing import Any, Literal

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


CohereInputType = Literal["search_document", "search_query", "classification", "clustering", "image"]
EmbeddingTypeV1 = Literal["float", "int8", "uint8", "binary", "ubinary"]
EmbeddingTypeV2 = Literal["float", "int8", "uint8", "binary", "ubinary", "base64"]


class EmbedRequest(Strict):
    """POST /v1/embed (what Cohere's v1 SDK client, LangChain's and LlamaIndex's Cohere embedders send)."""

    texts: list[Text] = Field(..., examples=[["What is RAG?"]], description="Texts to embed, in order.")
    model: str | None = Field(None, description="Accepted for compatibility; the loaded model answers.")
    input_type: CohereInputType | None = Field(
        None,
        description="search_query adds the model's query prompt; search_document (default) none; "
        "classification/clustering use the model's prompt or instruction for that task.",
    )
    embedding_types: list[EmbeddingTypeV1] | None = Field(
        None, description="Omitted: a plain list of float vectors (v1's embeddings_floats response)."
    )
    truncate: Literal["NONE", "START", "END"] | None = Field(
        "END", description="END cuts the end of a long text, START its beginning; NONE refuses it (400)."
    )
    images: list[str] | None = Field(None, description="Not supported: this server embeds text.")


class EmbedV2Request(EmbedRequest):
    """POST /v2/embed: input_type is required, embedding_types default to float, base64 exists."""

    input_type: CohereInputType = Field(..., description="Required in v2, as Cohere requires it.")  # type: ignore[assignment]
    embedding_types: list[EmbeddingTypeV2] | None = Field(None, description='Default: ["float"].')  # type: ignore[assignment]
    output_dimension: int | None = Field(None, ge=1, description="Matryoshka: keep the first N, re-normalised.")
    max_tokens: int | None = Field(
        None, ge=1, description="Accepted when at least the model's own limit; texts are cut at that limit."
    )
    inputs: list[Any] | None = Field(None, description="Not supported (mixed text/image content): send texts.")
