"""(query, passage) pairs → token ids and BERT segment ids, for every cross-encoder backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import TokenIds


class PairIds:
    """`[CLS] query [SEP] passage [SEP]` ids, cut to `max_tokens` (longest side first)."""

    def __init__(self, tokenizer: Any, *, max_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.sep_id: int | None = tokenizer.sep_token_id
        self.pad_id: int = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.uses_segments = "token_type_ids" in tokenizer.model_input_names

    def tokenize(self, pairs: Sequence[tuple[str, str]]) -> list[TokenIds]:
        queries = [q for q, _ in pairs]
        passages = [p for _, p in pairs]
        encoded = self.tokenizer(queries, passages, truncation="longest_first", max_length=self.max_tokens)
        ids: list[TokenIds] = encoded["input_ids"]
        return ids


def segment_ids(input_ids: NDArray[np.integer[Any]], real: NDArray[np.bool_], sep_id: int | None) -> NDArray[np.int64]:
    """BERT segment ids rebuilt from the ids: 1 for every real token after the first [SEP].

    Batches carry only token ids (they are cut and cached as such), and the segment boundary is
    recoverable from them exactly.
    """
    is_sep = (input_ids == sep_id).astype(np.int64)
    seen_sep_before = (np.cumsum(is_sep, axis=1) - is_sep) >= 1
    segments: NDArray[np.int64] = (seen_sep_before & real).astype(np.int64)
    return segments
