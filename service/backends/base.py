"""The contracts every backend implements: an Encoder for embeddings, a Scorer for rerankers.

Backends are pure forward passes over padded ids: they bring the tokeniser that fits their model
(`service.tokens`), and the engine's tokenisation stage runs it and pads every batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from service.families import Family
from service.tokens.padding import Batch, TokenIds
from service.tokens.pairs import PairTokenizer
from service.tokens.text import TextIds

__all__ = ["Batch", "Encoder", "ModelInfo", "PairTokenizer", "Scorer", "ScorerInfo", "TextIds", "TokenIds"]


@dataclass(frozen=True)
class ModelInfo:
    """What the service tells callers about a loaded model."""

    name: str
    dim: int
    max_tokens: int
    backend: str
    device: str
    family: Family
    prompts: dict[str, str] = field(default_factory=dict)  # the model's own prompts (query/document)
    dtype: str = "float32"
    vocab_size: int | None = None  # valid token ids are 0..vocab_size-1 (None: the backend cannot tell)


class Encoder(Protocol):
    """An embedding model: padded token ids in, raw (unnormalised) pooled vectors out."""

    info: ModelInfo
    text: TextIds  # how texts become this model's ids (run by the engine, never by the backend)

    def encode(self, batch: Batch) -> NDArray[np.float32]:
        """Raw pooled vectors, shape (len(batch), dim)."""
        ...


@dataclass(frozen=True)
class ScorerInfo:
    """What the service tells callers about a loaded reranker."""

    name: str
    max_tokens: int
    backend: str
    device: str
    kind: str  # "cross-encoder" or a reranker family name, e.g. "qwen3-reranker"
    dtype: str = "float32"


class Scorer(Protocol):
    """A reranker: padded (query, passage) ids in, raw relevance logits out."""

    info: ScorerInfo
    pairs: PairTokenizer  # how pairs become this model's ids; instruction-aware rerankers take the task

    def score(self, batch: Batch) -> NDArray[np.float32]:
        """Raw logits, shape (len(batch),)."""
        ...
