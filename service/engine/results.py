"""Plain result objects the Engine returns; API dialects turn them into their own wire shapes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass
class Timings:
    """Where a request's time went, in seconds (exposed as TEI-style x-*-time headers)."""

    tokenization: float = 0.0
    queue: float = 0.0
    inference: float = 0.0
    compute_tokens: int = 0  # tokens that went through the model (cache hits excluded)

    def merge(self, other: Timings) -> None:
        """Fold in a later stage of the same request."""
        self.tokenization += other.tokenization
        self.queue += other.queue
        self.inference += other.inference
        self.compute_tokens += other.compute_tokens


@dataclass
class EmbedResult:
    """Vectors in input order plus the token count of each input (after truncation)."""

    vectors: NDArray[np.float32]
    token_counts: list[int]
    timings: Timings = field(default_factory=Timings)

    @property
    def total_tokens(self) -> int:
        return sum(self.token_counts)


@dataclass
class RankedItem:
    """One passage's place in a ranking."""

    index: int
    score: float  # cosine (bi-encoder) or sigmoid of the cross-encoder logit, 0..1
    raw_score: float  # cosine or the raw logit


@dataclass
class RerankResult:
    """Passages ranked best first, and which method really produced the scores."""

    items: list[RankedItem]
    method: str  # "bi-encoder" | "cross-encoder" | "bi+cross-encoder"
    total_tokens: int
    timings: Timings = field(default_factory=Timings)
