"""The tokenisation stage: prompts' texts and (query, passage) pairs → token ids, in a small worker pool.

Never on the event loop: a 100 KB text or a thousand pairs would stall every other client. The
fast (Rust) tokenizers release the GIL for list calls, so the pool's threads run beside the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from service.errors import InputTooLarge
from service.tokens.padding import TokenIds
from service.tokens.pairs import PairTokenizer
from service.tokens.text import TextIds, TokenPiece

T = TypeVar("T")

# Characters per token before any text was measured: English BPE / WordPiece average ~4.
_DEFAULT_CHARS_PER_TOKEN = 4.0


class TokenizeStage:
    """Runs the model's tokenisers off the loop and learns characters per token for admission."""

    def __init__(self, text: TextIds, pairs: PairTokenizer | None, workers: int = 2) -> None:
        self.text = text
        self.pairs = pairs
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokenize")
        self.chars_per_token = _DEFAULT_CHARS_PER_TOKEN
        self.seconds = 0.0  # total time spent tokenising (metrics)

    async def _run(self, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
        finally:
            self.seconds += time.perf_counter() - started

    def _learn(self, texts: Sequence[str], rows: Sequence[TokenIds]) -> None:
        chars, tokens = sum(len(t) for t in texts), sum(len(r) for r in rows)
        if tokens and chars:
            # weighted by size: one long document says more than a one-word query
            weight = min(0.5, tokens / 20_000)
            self.chars_per_token += weight * (chars / tokens - self.chars_per_token)

    async def texts(self, texts: Sequence[str], *, truncate: bool, param: str) -> tuple[list[TokenIds], list[int]]:
        """(ids cut to the model's limit, token counts before the cut); 413 for too long a text when
        `truncate` is false."""

        def work() -> tuple[list[TokenIds], list[int]]:
            rows = self.text.tokenize(texts)
            self._learn(texts, rows)
            totals = [len(row) for row in rows]
            limit = self.text.max_tokens
            if not truncate:
                for i, n in enumerate(totals):
                    if n > limit:
                        raise InputTooLarge(
                            f"{param}[{i}] has {n} tokens; this model takes at most {limit} "
                            "(send truncate: true to cut it)",
                            param=param,
                        )
            return [self.text.cut(row) for row in rows], totals

        return await self._run(work)

    async def pairs_of(self, query: str, passages: Sequence[str], instruction: str | None) -> list[TokenIds]:
        """Reranker ids of (query, passage) for every passage, cut to the reranker's limit."""
        pairs = self.pairs
        assert pairs is not None, "no reranker is loaded"
        return await self._run(lambda: pairs.tokenize(query, passages, instruction))

    async def counts(self, texts: Sequence[str]) -> list[int]:
        """Token counts as the model would see them, special tokens included, before truncation."""
        return await self._run(lambda: [len(row) for row in self.text.tokenize(texts)])

    async def content_counts(self, texts: Sequence[str]) -> list[int]:
        """Token counts without special tokens (what TEI /tokenize lists)."""
        return await self._run(lambda: [self.text.content_count(row) for row in self.text.tokenize(texts)])

    async def pieces(self, text: str, add_special_tokens: bool) -> list[TokenPiece]:
        return await self._run(lambda: self.text.pieces(text, add_special_tokens))

    def estimate_tokens(self, chars: int) -> int:
        """A text's token count guessed from its length (admission, before tokenising)."""
        return int(chars / self.chars_per_token) + 2

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
