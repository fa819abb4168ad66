"""Text → token ids for Hugging Face tokenizers, with the family's EOS rule and the length cap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.backends.base import TokenIds

# Tokenizers of some models report a "no limit" sentinel (~1e30) as their maximum length.
NO_LIMIT = 1_000_000


def max_tokens_of(candidates: Sequence[Any], override: int | None) -> int:
    """The smallest sensible limit among the model's own, capped by MAX_SEQ_LENGTH when set."""
    limits = [int(c) for c in candidates if c and 0 < int(c) < NO_LIMIT]
    if not limits:
        raise RuntimeError("the model declares no maximum input length; set MAX_SEQ_LENGTH")
    return min(min(limits), override) if override else min(limits)


class TextIds:
    """Token ids as the model must see them: special tokens as the tokenizer adds them, plus EOS
    when the family pools the last token and the tokenizer does not append EOS itself."""

    def __init__(self, tokenizer: Any, *, append_eos: bool, max_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.eos_id: int | None = tokenizer.eos_token_id
        self.append_eos = append_eos and self.eos_id is not None and not self._tokenizer_appends_eos()
        self.max_tokens = max_tokens
        self.pad_id: int = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.eos_id or 0)

    def _tokenizer_appends_eos(self) -> bool:
        ids: list[int] = self.tokenizer("a")["input_ids"]
        return bool(ids) and ids[-1] == self.eos_id

    def tokenize(self, texts: Sequence[str]) -> list[TokenIds]:
        """Full-length ids (never truncated), so callers see true lengths."""
        ids: list[TokenIds] = self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]
        return [[*row, self.eos_id] for row in ids] if self.append_eos else ids  # type: ignore[list-item]

    def truncate(self, texts: Sequence[str]) -> list[TokenIds]:
        """Ids cut to `max_tokens`, the tokenizer's special tokens and our EOS kept."""
        room = self.max_tokens - (1 if self.append_eos else 0)
        ids: list[TokenIds] = self.tokenizer(list(texts), truncation=True, max_length=room)["input_ids"]
        return [[*row, self.eos_id] for row in ids] if self.append_eos else ids  # type: ignore[list-item]
