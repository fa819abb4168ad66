"""Drive a backend as the engine does: ids from its tokeniser, padded by `pad_batch`, one forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.tokens.padding import TokenIds, pad_batch


def encode_rows(encoder: Any, rows: Sequence[TokenIds]) -> NDArray[np.float32]:
    """Raw vectors of token-id rows, padded the way the engine pads them for this encoder."""
    text = encoder.text
    vectors: NDArray[np.float32] = encoder.encode(pad_batch(rows, text.pad_id, text.padding_side))
    return vectors


def pair_rows(scorer: Any, pairs: Sequence[tuple[str, str]], instruction: str | None = None) -> list[TokenIds]:
    """Reranker ids of (query, passage) pairs, each pair tokenised as its own request."""
    tokenizer = getattr(scorer, "pairs", scorer)  # a scorer, or its pair tokeniser itself
    return [tokenizer.tokenize(query, [passage], instruction)[0] for query, passage in pairs]


def score_rows(scorer: Any, rows: Sequence[TokenIds]) -> NDArray[np.float32]:
    """Raw logits of token-id rows, padded the way the engine pads them for this reranker."""
    pairs = scorer.pairs
    scores: NDArray[np.float32] = scorer.score(pad_batch(rows, pairs.pad_id, pairs.padding_side))
    return scores
