"""Hugging Face TEI wire shapes: /embed {inputs}, /rerank {query, texts}, /tokenize, /info."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from service.schemas.native import Strict
from service.schemas.openai import EmbeddingInput, check_input
from service.schemas.text import Text, no_blank_texts

PromptName = Literal["query", "document", "passage"]
# TEI's enum spells the variants "Left"/"Right"; its docs show lower case. Only right is offered.
TruncationDirection = Literal["Right", "right"]


class EmbedRequest(Strict):
    inputs: EmbeddingInput = Field(..., examples=[["What is Deep Learning?"]])
    normalize: bool = Field(True, description="L2-normalise; false returns the raw pooled vectors.")
    truncate: bool | None = Field(None, description="Cut over-long inputs (default true); false → 413.")
    truncation_direction: TruncationDirection = Field("Right", description="Only 'Right' is supported.")
    prompt_name: PromptName | None = Field(
        None, description="'query' adds the model's query instruction; 'document'/'passage' (default) do not."
    )
    dimensions: int | None = Field(None, description="Matryoshka: keep the first N components, then re-normalise.")

    _check_inputs = field_validator("inputs", mode="wrap")(check_input)
    _no_blank = field_validator("inputs", mode="after")(no_blank_texts)


class RerankRequest(BaseModel):
    """TEI ignores fields it does not know, and clients rely on it (some send `top_n`): so does this route."""

    model_config = ConfigDict(extra="ignore", strict=True)

    query: Text = Field(..., examples=["What is Deep Learning?"])
    texts: list[Text] = Field(..., min_length=1, examples=[["Deep Learning is ..."]])
    truncate: bool | None = Field(None, description="Cut over-long texts (default true); false → 413.")
    truncation_direction: TruncationDirection = Field("Right", description="Only 'Right' is supported.")
    raw_scores: bool = Field(False, description="Raw logits (or cosines) instead of 0..1 scores.")
    return_text: bool = Field(False, description="Include each text in its result.")


class SimilarityInput(Strict):
    source_sentence: Text = Field(..., examples=["What is Deep Learning?"])
    sentences: list[Text] = Field(
        ..., min_length=1, examples=[["What is Machine Learning?"]], description="Compared with the source."
    )


class SimilarityParameters(Strict):
    truncate: bool | None = Field(None, description="Cut over-long inputs (default true); false → 413.")
    truncation_direction: TruncationDirection = Field("Right", description="Only 'Right' is supported.")
    prompt_name: PromptName | None = Field(None, description="'query' adds the query prompt to every input.")


class SimilarityRequest(Strict):
    """POST /similarity and POST / {inputs: {source_sentence, sentences}} (huggingface_hub's sentence_similarity)."""

    inputs: SimilarityInput
    parameters: SimilarityParameters | None = None


class TokenizeRequest(Strict):
    inputs: StrictStr | list[StrictStr] = Field(..., examples=["What is Deep Learning?"])
    add_special_tokens: bool = Field(True, description="Keep the special tokens the model sees.")
    prompt_name: PromptName | None = Field(None, description="'query' tokenises the text with the query prompt.")


class Rank(BaseModel):
    index: int
    score: float
    text: str | None = None


class SimpleToken(BaseModel):
    id: int
    text: str
    special: bool
    start: int | None
    stop: int | None


class Info(BaseModel):
    model_id: str
    model_sha: str | None
    model_dtype: str
    model_type: dict[str, dict[str, str]]
    max_concurrent_requests: int
    max_input_length: int
    max_batch_tokens: int
    max_batch_requests: int | None
    max_client_batch_size: int
    auto_truncate: bool
    tokenization_workers: int
    version: str
    sha: str | None
    docker_label: str | None
