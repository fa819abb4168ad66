"""The contracts every backend implements: an Encoder for embeddings, a Scorer for rerankers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from service.families import Family

TokenIds = list[int]


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
    """An embedding model: tokenises, then turns token ids into raw (unnormalised) pooled vectors."""

    info: ModelInfo

    def tokenize(self, texts: Sequence[str]) -> list[TokenIds]:
        """Token ids with special tokens, NOT truncated (so callers see true lengths)."""
        ...

    def truncate(self, texts: Sequence[str]) -> list[TokenIds]:
        """Token ids cut to `info.max_tokens`, special tokens kept."""
        ...

    def encode(self, batch: Sequence[TokenIds]) -> NDArray[np.float32]:
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


class Scorer(Protocol):
    """A reranker: turns (query, passage) pairs into raw relevance logits."""

    info: ScorerInfo

    def tokenize_pairs(self, pairs: Sequence[tuple[str, str]], instruction: str | None = None) -> list[TokenIds]:
        """Token ids of each pair, truncated to `info.max_tokens`; instruction-aware rerankers
        (Qwen3-Reranker) put `instruction` (or their default task) in the prompt, others ignore it."""
        ...

    def score(self, batch: Sequence[TokenIds]) -> NDArray[np.float32]:
        """Raw logits, shape (len(batch),)."""
        ...
