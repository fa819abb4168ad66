"""Causal-LM rerankers (Qwen3-Reranker), backend-independent part: the prompt, its token ids, the batch shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.families import RerankerFamily
from service.tokens.padding import TokenIds
from service.tokens.text import max_tokens_of


class RerankPrompt:
    """(query, document) pairs → `prefix + body + suffix` token ids, as the family's official code builds them.

    Prefix and suffix are tokenised once and never cut; the body (instruction, query, document)
    is cut at its end when the whole would exceed `max_tokens`, so the document's tail goes first.
    """

    def __init__(
        self, tokenizer: Any, family: RerankerFamily, *, max_tokens: int, default_task: str | None = None
    ) -> None:
        self.tokenizer = tokenizer
        self.family = family
        self.default_task = default_task or family.default_task
        self.prefix_ids: TokenIds = tokenizer.encode(family.prefix, add_special_tokens=False)
        self.suffix_ids: TokenIds = tokenizer.encode(family.suffix, add_special_tokens=False)
        self.yes_id = self._single_token(family.yes_token)
        self.no_id = self._single_token(family.no_token)
        self.max_tokens = max_tokens
        self.body_room = max_tokens - len(self.prefix_ids) - len(self.suffix_ids)
        if self.body_room < 8:
            raise RuntimeError(
                f"a {max_tokens}-token limit leaves no room for the {family.name} prompt "
                f"({len(self.prefix_ids) + len(self.suffix_ids)} template tokens); raise MAX_SEQ_LENGTH"
            )
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise RuntimeError("the reranker's tokenizer has neither a pad nor an EOS token")
        self.pad_id: int = int(pad)
        self.padding_side = family.padding_side  # left: every row's answer position is the last column

    def _single_token(self, token: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise RuntimeError(
                f"the reranker's vocabulary has no single token {token!r}; it is not a {self.family.name}"
            )
        return int(token_id)

    def body(self, query: str, document: str, instruction: str | None = None) -> str:
        return self.family.body_template.format(task=instruction or self.default_task, query=query, document=document)

    def tokenize(self, query: str, passages: Sequence[str], instruction: str | None = None) -> list[TokenIds]:
        """Ids of every (query, document) prompt. A query longer than the body's room is cut (on its ids,
        once) before it is repeated in every prompt: the official code would cut it away anyway."""
        query_ids: TokenIds = self.tokenizer(query, add_special_tokens=False, verbose=False)["input_ids"]
        if len(query_ids) > self.body_room:
            query = self.tokenizer.decode(query_ids[: self.body_room])
        bodies = [self.body(query, document, instruction) for document in passages]
        encoded = self.tokenizer(bodies, add_special_tokens=False, truncation=True, max_length=self.body_room)
        return [[*self.prefix_ids, *row, *self.suffix_ids] for row in encoded["input_ids"]]


def reranker_max_tokens(family: RerankerFamily, config: dict[str, Any], override: int | None) -> int:
    """The model's position limit, capped by MAX_SEQ_LENGTH or else by the official code's default."""
    return max_tokens_of([config.get("max_position_embeddings")], override or family.default_max_tokens)
