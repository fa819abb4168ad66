"""The pre stage: request limits, prompts, cache, admission, the class of work and tokenisation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.backends.base import ModelInfo
from service.config import Settings
from service.engine.admission import Admission
from service.engine.cache import EmbeddingCache
from service.engine.classes import WorkClass, classify
from service.engine.prompts import PromptFormatter
from service.engine.tokenize import TokenizeStage
from service.errors import InputTooLarge, InvalidInput
from service.tokens.pairs import PairTokenizer
from service.tokens.text import TextIds
from service.visible import BLANK_MESSAGE, has_visible_text


class PreStage:
    """Everything a request passes before the model: checked, prompted, looked up, admitted, tokenised."""

    def __init__(self, info: ModelInfo, text: TextIds, pairs: PairTokenizer | None, settings: Settings) -> None:
        self.settings = settings
        self.max_tokens = info.max_tokens
        self.prompts = PromptFormatter(info, settings.default_instruction)
        self.cache = EmbeddingCache(int(settings.embed_cache_mb * 2**20))
        self.tokens = TokenizeStage(text, pairs)
        self.admission = Admission(settings.queue_wait_limit_s, settings.interactive_share)
        self.interactive_max_tokens = settings.interactive_max_tokens if settings.work_classes else 0

    def check_items(self, items: Sequence[Any], name: str) -> None:
        """Non-empty, at most MAX_ITEMS_PER_REQUEST items, none over MAX_CHARS_PER_ITEM characters."""
        if len(items) == 0:
            raise InvalidInput(f"{name} must not be empty", param=name)
        if len(items) > self.settings.max_items_per_request:
            raise InputTooLarge(
                f"{name} has {len(items)} items; at most {self.settings.max_items_per_request} per request",
                param=name,
            )
        limit = self.settings.max_chars_per_item
        for i, item in enumerate(items):
            if isinstance(item, str) and len(item) > limit:
                raise InputTooLarge(f"{name}[{i}] has {len(item)} characters; at most {limit}", param=name)
            # The wire schemas refuse these first (naming their field); this covers every other caller.
            if isinstance(item, str) and not has_visible_text(item):
                raise InvalidInput(f"{name}[{i}] {BLANK_MESSAGE}", param=name)

    def estimate(self, texts: Sequence[str], limit: int | None = None) -> int:
        """Tokens `texts` will cost, guessed from their characters (each cut to `limit`)."""
        cap = limit if limit is not None else self.max_tokens
        return sum(min(self.tokens.estimate_tokens(len(text)), cap) for text in texts)

    def estimate_pairs(self, query: str, passages: Sequence[str], limit: int) -> int:
        """The query is repeated in every pair: its cost counts once per pair, cut to the reranker's limit."""
        query_cost = self.tokens.estimate_tokens(len(query))
        return sum(min(query_cost + self.tokens.estimate_tokens(len(p)), limit) for p in passages)

    def classify(self, estimated_tokens: int, declared: WorkClass | None = None) -> WorkClass:
        return classify(estimated_tokens, self.interactive_max_tokens, declared)

    def check_body(self, body_bytes: int, models: Sequence[str], declared: WorkClass | None = None) -> None:
        """429 at once for a large request body that could not be admitted whatever it holds, before it is
        read or parsed (under a flood, parsing hundreds of refused bodies was what made 429s slow).

        The body's tokens are bounded from below by its bytes over twice the measured characters per
        token (JSON quoting and field names rarely double a body), and its cost by the cheapest model's
        measured seconds per token, so a body refused here would be refused after parsing too. Bodies
        small enough to be interactive are left to the normal path: they are cheap to parse.
        """
        tokens = int(body_bytes / (2 * self.tokens.chars_per_token))
        if tokens <= self.settings.interactive_max_tokens:
            return
        cheapest = min(models, key=self.admission.seconds_per_token)
        self.admission.check(cheapest, tokens, self.classify(tokens, declared))
