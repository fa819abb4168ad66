"""Text → token ids for Hugging Face tokenizers: the family's EOS rule, truncation on ids, token pieces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.tokens.padding import TokenIds

# Tokenizers of some models report a "no limit" sentinel (~1e30) as their maximum length.
NO_LIMIT = 1_000_000


def max_tokens_of(candidates: Sequence[Any], override: int | None) -> int:
    """The smallest sensible limit among the model's own, capped by MAX_SEQ_LENGTH when set."""
    limits = [int(c) for c in candidates if c and 0 < int(c) < NO_LIMIT]
    if not limits:
        raise RuntimeError("the model declares no maximum input length; set MAX_SEQ_LENGTH")
    return min(min(limits), override) if override else min(limits)


@dataclass(frozen=True)
class TokenPiece:
    """One token of a text as the model sees it, with its character span when the tokenizer knows it."""

    id: int
    text: str
    special: bool
    start: int | None
    stop: int | None


def special_frame(tokenizer: Any, full: TokenIds, plain: TokenIds) -> tuple[int, int]:
    """(leading, trailing) special tokens the tokenizer wraps around `plain` to give `full`."""
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return start, len(full) - start - len(plain)
    raise RuntimeError(f"cannot locate the content ids inside {type(tokenizer).__name__}'s special-token template")


class TextIds:
    """Token ids as the model must see them: special tokens as the tokenizer adds them, plus EOS
    when the family pools the last token and the tokenizer does not append EOS itself.

    Texts are tokenised once, in full (callers see true lengths); truncation then cuts the ids,
    keeping the special tokens, which is what the tokenizer's own `truncation=True` produces.
    """

    def __init__(self, tokenizer: Any, *, append_eos: bool, max_tokens: int, padding_side: str = "right") -> None:
        self.tokenizer = tokenizer
        self.eos_id: int | None = tokenizer.eos_token_id
        full: TokenIds = tokenizer("a")["input_ids"]
        plain: TokenIds = tokenizer("a", add_special_tokens=False)["input_ids"]
        self.append_eos = append_eos and self.eos_id is not None and not (full and full[-1] == self.eos_id)
        self.max_tokens = max_tokens
        self.padding_side = padding_side
        self.pad_id: int = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.eos_id or 0)
        head, tail = special_frame(tokenizer, full, plain)
        self._head, self._tail = head, tail + (1 if self.append_eos else 0)
        if self._head + self._tail >= max_tokens:
            raise RuntimeError(f"a {max_tokens}-token limit leaves no room for text; raise MAX_SEQ_LENGTH")
        self.special_ids: frozenset[int] = frozenset(getattr(tokenizer, "all_special_ids", None) or ())

    def tokenize(self, texts: Sequence[str]) -> list[TokenIds]:
        """Full-length ids (never truncated). A list call: fast tokenizers release the GIL for it."""
        ids: list[TokenIds] = self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]
        return [[*row, self.eos_id] for row in ids] if self.append_eos else ids  # type: ignore[list-item]

    def cut(self, row: TokenIds) -> TokenIds:
        """`row` cut to `max_tokens`: the content loses its end, the special tokens stay."""
        if len(row) <= self.max_tokens:
            return row
        head, tail = self._head, self._tail
        return row[:head] + row[head : self.max_tokens - tail] + (row[len(row) - tail :] if tail else [])

    def truncated(self, texts: Sequence[str]) -> list[TokenIds]:
        """Ids cut to `max_tokens`."""
        return [self.cut(row) for row in self.tokenize(texts)]

    def content_count(self, row: TokenIds) -> int:
        """Tokens of `row` that are not special tokens."""
        return sum(1 for token in row if token not in self.special_ids)

    def pieces(self, text: str, add_special_tokens: bool) -> list[TokenPiece]:
        """Tokens of `text` exactly as the model is fed them (EOS appended included), with spans."""
        tokenizer = self.tokenizer
        ids = self.tokenize([text])[0]
        spans = self._spans(text, ids)
        pieces = []
        for token_id, span in zip(ids, spans, strict=True):
            if token_id in self.special_ids:
                if add_special_tokens:
                    pieces.append(TokenPiece(token_id, tokenizer.convert_ids_to_tokens(token_id), True, None, None))
                continue
            start, stop = span or (None, None)
            piece = text[start:stop] if span else tokenizer.decode([token_id])
            pieces.append(TokenPiece(token_id, piece, False, start, stop))
        return pieces

    def _spans(self, text: str, ids: TokenIds) -> list[tuple[int, int] | None]:
        """Character offsets from a fast tokenizer, for the prefix of `ids` it reproduces (None elsewhere)."""
        if not getattr(self.tokenizer, "is_fast", False):
            return [None] * len(ids)
        encoding = self.tokenizer(text, return_offsets_mapping=True, truncation=False, verbose=False)
        own_ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
        if own_ids != ids[: len(own_ids)]:
            return [None] * len(ids)
        spans: list[tuple[int, int] | None] = [(int(a), int(b)) for a, b in offsets]
        return spans + [None] * (len(ids) - len(spans))
