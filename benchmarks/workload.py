"""Deterministic benchmark texts of known token length, built from single-token words of the model's vocab."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

# MiniLM (BERT) adds [CLS] and [SEP]: a text of n single-token words is n + 2 tokens.
SPECIAL_TOKENS = 2


@dataclass
class Workload:
    """Texts for every scenario; the same lists feed the server, the baselines and the offline ceiling."""

    words: list[str]
    rng: random.Random

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, seed: int = 20261126) -> Workload:
        vocab: dict[str, int] = tokenizer.get_vocab()
        # Plain lower-case words that the tokenizer keeps whole: each costs exactly one token.
        words = sorted(w for w in vocab if w.isascii() and w.isalpha() and w.islower() and 3 <= len(w) <= 10)
        return cls(words=words, rng=random.Random(seed))

    def text(self, tokens: int) -> str:
        """A fresh random text of exactly `tokens` tokens (special tokens included)."""
        return " ".join(self.rng.choices(self.words, k=max(1, tokens - SPECIAL_TOKENS)))

    def texts(self, lengths: list[int]) -> list[str]:
        return [self.text(n) for n in lengths]

    def short_lengths(self, n: int) -> list[int]:
        """Short queries: 10-18 tokens (a search query or a chat question)."""
        return [self.rng.randint(10, 18) for _ in range(n)]

    def mixed_lengths(self, n: int, shape: str) -> list[int]:
        """10-400 tokens, uniform or log-uniform (many short texts, a few long ones)."""
        if shape == "uniform":
            return [self.rng.randint(10, 400) for _ in range(n)]
        low, high = math.log(10), math.log(400)
        return [round(math.exp(self.rng.uniform(low, high))) for _ in range(n)]


def check_lengths(tokenizer: Any, texts: list[str], lengths: list[int]) -> None:
    """Fail loudly if the word trick stopped giving one token per word (a different tokenizer)."""
    sample = texts[:50]
    real = [len(ids) for ids in tokenizer(sample, truncation=False)["input_ids"]]
    if real != [max(n, SPECIAL_TOKENS + 1) for n in lengths[: len(sample)]]:
        raise RuntimeError("benchmark texts do not have the intended token lengths for this tokenizer")
