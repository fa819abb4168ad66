"""Deterministic benchmark texts of known token length, built from single-token words of the model's vocab."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

# MiniLM (BERT) adds [CLS] and [SEP]: a text of n single-token words is n + 2 tokens (Qwen3: + 1, EOS).
SPECIAL_TOKENS = 2


@dataclass
class Workload:
    """Texts for every scenario; the same lists feed the server, the baselines and the offline ceiling."""

    words: list[str]
    rng: random.Random
    specials: int = SPECIAL_TOKENS  # tokens the tokenizer adds to every text

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, seed: int = 20261126) -> Workload:
        vocab: dict[str, int] = tokenizer.get_vocab()
        # Plain lower-case words that the tokenizer keeps whole, first and after a space (byte-level
        # BPEs spell the two differently): each costs exactly one token.
        candidates = sorted(w for w in vocab if w.isascii() and w.isalpha() and w.islower() and 3 <= len(w) <= 10)
        pairs = tokenizer([f"{w} {w}" for w in candidates], add_special_tokens=False)["input_ids"]
        words = [w for w, ids in zip(candidates, pairs, strict=True) if len(ids) == 2]
        specials = len(tokenizer("")["input_ids"])
        return cls(words=words, rng=random.Random(seed), specials=specials)

    def text(self, tokens: int) -> str:
        """A fresh random text of exactly `tokens` tokens (special tokens included)."""
        return " ".join(self.rng.choices(self.words, k=max(1, tokens - self.specials)))

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


def check_lengths(tokenizer: Any, texts: list[str], lengths: list[int], specials: int = SPECIAL_TOKENS) -> None:
    """Fail loudly if the word trick stopped giving one token per word (a different tokenizer)."""
    sample = texts[:50]
    real = [len(ids) for ids in tokenizer(sample, truncation=False)["input_ids"]]
    if real != [max(n, specials + 1) for n in lengths[: len(sample)]]:
        raise RuntimeError("benchmark texts do not have the intended token lengths for this tokenizer")
