"""(query, passage) pairs → cross-encoder token ids: the query tokenised once, pairs joined and cut on ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from service.tokens.padding import TokenIds


class PairTokenizer(Protocol):
    """What the engine's tokenisation stage needs from a reranker's tokeniser."""

    max_tokens: int
    pad_id: int
    padding_side: str

    def tokenize(self, query: str, passages: Sequence[str], instruction: str | None = None) -> list[TokenIds]:
        """Token ids of every (query, passage) pair, cut to `max_tokens`."""
        ...


def longest_first(n_query: int, n_passage: int, room: int) -> tuple[int, int]:
    """How many tokens of each side the tokenizers' `longest_first` truncation keeps.

    As the Rust tokenizers run it: the shorter side (the query on a tie) keeps up to half the room,
    the longer side the rest. A closed form, so even a 25 000-token query costs no loop.
    """
    if n_query + n_passage <= room:
        return n_query, n_passage
    if n_query > n_passage:
        keep_passage = min(n_passage, room // 2)
        return room - keep_passage, keep_passage
    keep_query = min(n_query, room // 2)
    return keep_query, room - keep_query


class PairIds:
    """`[CLS] query [SEP] passage [SEP]` (or the tokenizer's own pair template), cut longest side first.

    The template is read off the tokenizer once; the query is tokenised once per request, however
    many passages it is paired with.
    """

    padding_side = "right"  # BERT-style models; onnxruntime's fused attention also reads lengths from it

    def __init__(self, tokenizer: Any, *, max_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.sep_id: int | None = tokenizer.sep_token_id
        self.pad_id: int = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.uses_segments = "token_type_ids" in tokenizer.model_input_names
        self._prefix, self._middle, self._suffix = self._template()
        self.room = max_tokens - len(self._prefix) - len(self._middle) - len(self._suffix)
        if self.room < 2:
            raise RuntimeError(f"a {max_tokens}-token limit leaves no room for a pair; raise MAX_SEQ_LENGTH")

    def _template(self) -> tuple[TokenIds, TokenIds, TokenIds]:
        first = self._plain(["a"])[0]
        second = self._plain(["b"])[0]
        full: TokenIds = self.tokenizer("a", "b")["input_ids"]
        n1, n2 = len(first), len(second)
        for start in range(len(full)):
            if full[start : start + n1] != first:
                continue
            for middle_end in range(start + n1, len(full) - n2 + 1):
                if full[middle_end : middle_end + n2] == second:
                    return full[:start], full[start + n1 : middle_end], full[middle_end + n2 :]
        raise RuntimeError(f"cannot read the pair template of {type(self.tokenizer).__name__}")

    def _plain(self, texts: Sequence[str]) -> list[TokenIds]:
        ids: list[TokenIds] = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return ids

    def tokenize(self, query: str, passages: Sequence[str], instruction: str | None = None) -> list[TokenIds]:
        # BERT-style cross-encoders take no instruction.
        query_ids = self._plain([query])[0]
        rows = []
        for passage_ids in self._plain(passages):
            keep_query, keep_passage = longest_first(len(query_ids), len(passage_ids), self.room)
            rows.append(
                [*self._prefix, *query_ids[:keep_query], *self._middle, *passage_ids[:keep_passage], *self._suffix]
            )
        return rows


def segment_ids(input_ids: NDArray[np.integer[Any]], real: NDArray[np.bool_], sep_id: int | None) -> NDArray[np.int64]:
    """BERT segment ids rebuilt from the ids: 1 for every real token after the first [SEP].

    Batches carry only token ids (they are cut and cached as such), and the segment boundary is
    recoverable from them exactly.
    """
    is_sep = (input_ids == sep_id).astype(np.int64)
    seen_sep_before = (np.cumsum(is_sep, axis=1) - is_sep) >= 1
    segments: NDArray[np.int64] = (seen_sep_before & real).astype(np.int64)
    return segments
