"""Tokenise once, cut on ids: equal to the tokenizers' own truncation, for texts and cross-encoder pairs."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from service.backends.torch.common import default_model_path
from service.tokens.pairs import PairIds, longest_first
from service.tokens.text import TextIds


@pytest.fixture(scope="module")
def minilm_tokenizer():  # type: ignore[no-untyped-def]
    return AutoTokenizer.from_pretrained(default_model_path())


@pytest.mark.parametrize("max_tokens", [5, 12, 33])
def test_cut_on_ids_equals_the_tokenizers_truncation(minilm_tokenizer, max_tokens: int) -> None:  # type: ignore[no-untyped-def]
    text = TextIds(minilm_tokenizer, append_eos=False, max_tokens=max_tokens)
    texts = [" ".join(["vector search"] * n) for n in range(1, 30, 3)]
    expected = minilm_tokenizer(texts, truncation=True, max_length=max_tokens)["input_ids"]
    assert text.truncated(texts) == expected
    assert [len(row) for row in text.tokenize(texts)] == [len(row) for row in minilm_tokenizer(texts)["input_ids"]]


def test_last_token_family_keeps_its_eos_when_cut(qwen3_bare_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(qwen3_bare_path)
    text = TextIds(tokenizer, append_eos=True, max_tokens=8)
    (full,) = text.tokenize([" ".join(["database"] * 50)])
    (cut,) = text.truncated([" ".join(["database"] * 50)])
    assert len(full) > 8 and len(cut) == 8
    assert cut[-1] == tokenizer.eos_token_id and cut[:-1] == full[:7]


def test_pieces_carry_spans_and_mark_specials(minilm_tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = TextIds(minilm_tokenizer, append_eos=False, max_tokens=64)
    pieces = text.pieces("Qdrant rocks", add_special_tokens=True)
    assert pieces[0].special and pieces[-1].special
    words = [p for p in pieces if not p.special]
    assert "".join("Qdrant rocks"[p.start : p.stop] for p in words if p.start is not None) == "Qdrantrocks"
    assert text.content_count(text.tokenize(["Qdrant rocks"])[0]) == len(words)


@pytest.mark.parametrize("max_tokens", [8, 20, 21])
def test_pairs_equal_the_tokenizers_longest_first(minilm_tokenizer, max_tokens: int) -> None:  # type: ignore[no-untyped-def]
    pairs = PairIds(minilm_tokenizer, max_tokens=max_tokens)
    mismatches = []
    for n_query, n_passage in itertools.product(range(1, 26, 2), range(1, 26, 3)):
        query, passage = " ".join(["cat"] * n_query), " ".join(["dog"] * n_passage)
        expected = minilm_tokenizer(query, passage, truncation="longest_first", max_length=max_tokens)["input_ids"]
        if pairs.tokenize(query, [passage]) != [expected]:
            mismatches.append((n_query, n_passage))
    assert not mismatches


def test_one_query_many_passages_equals_pair_by_pair(cross_encoder_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(cross_encoder_path)
    pairs = PairIds(tokenizer, max_tokens=32)
    passages = ["rust vector database", "n8n workflow " * 20, "a"]
    query = "which database " * 30
    expected = [tokenizer(query, p, truncation="longest_first", max_length=32)["input_ids"] for p in passages]
    assert pairs.tokenize(query, passages) == expected


def test_longest_first_keeps_the_whole_room() -> None:
    for n_query, n_passage, room in itertools.product(range(0, 12), range(0, 12), range(2, 14)):
        keep_query, keep_passage = longest_first(n_query, n_passage, room)
        assert keep_query <= n_query and keep_passage <= n_passage
        assert keep_query + keep_passage == min(room, n_query + n_passage)
