"""Qwen3-Reranker prompt (token layout = the official format string) and the torch scorer against transformers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from service.backends.registry import scorer_target
from service.backends.torch.qwen3_reranker import TorchQwen3Reranker
from service.config import Settings
from service.families import QWEN3_RERANKER
from service.tokens.padding import pad_batch
from service.tokens.rerank_prompt import RerankPrompt
from tests.backends.rows import pair_rows, score_rows

# Copied from Qwen's model card / QwenLM/Qwen3-Embedding examples, independently of service/families.py.
OFFICIAL_PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
)
OFFICIAL_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
OFFICIAL_TASK = "Given a web search query, retrieve relevant passages that answer the query"


def official_body(query: str, doc: str, instruction: str = OFFICIAL_TASK) -> str:
    return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}"


PAIRS = [
    ("the cat", "the cat eats food and bread"),
    ("qdrant vector database", "gpu memory"),
    ("a dog", "a dog is a dog"),
    ("rust", "python is slow"),
]


def official_scores(path: Path, pairs: list[tuple[str, str]], max_length: int = 512) -> np.ndarray:
    """The model card's transformers code: P(yes) from log_softmax over (no, yes) at the last position."""
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    prefix_tokens = tokenizer.encode(OFFICIAL_PREFIX, add_special_tokens=False)
    suffix_tokens = tokenizer.encode(OFFICIAL_SUFFIX, add_special_tokens=False)
    texts = [official_body(q, d) for q, d in pairs]
    inputs = tokenizer(
        texts,
        padding=False,
        truncation="longest_first",
        return_attention_mask=False,
        max_length=max_length - len(prefix_tokens) - len(suffix_tokens),
    )
    inputs["input_ids"] = [prefix_tokens + ids + suffix_tokens for ids in inputs["input_ids"]]
    batch = tokenizer.pad(inputs, padding=True, return_tensors="pt")  # (the card also passes max_length: a no-op)
    with torch.no_grad():
        logits = model(**batch).logits[:, -1, :]
    pair = torch.stack(
        [logits[:, tokenizer.convert_tokens_to_ids("no")], logits[:, tokenizer.convert_tokens_to_ids("yes")]], 1
    )
    return torch.nn.functional.log_softmax(pair, dim=1)[:, 1].exp().numpy()


@pytest.fixture(scope="module")
def prompt(qwen3_reranker_path: Path) -> RerankPrompt:
    return RerankPrompt(AutoTokenizer.from_pretrained(qwen3_reranker_path), QWEN3_RERANKER, max_tokens=512)


def test_family_strings_are_the_official_ones() -> None:
    assert QWEN3_RERANKER.prefix == OFFICIAL_PREFIX
    assert QWEN3_RERANKER.suffix == OFFICIAL_SUFFIX
    assert QWEN3_RERANKER.default_task == OFFICIAL_TASK
    assert QWEN3_RERANKER.body_template.format(task="T", query="Q", document="D") == official_body("Q", "D", "T")


def test_token_layout_is_the_official_format_string(prompt: RerankPrompt) -> None:
    tokenizer = prompt.tokenizer
    (ids,) = pair_rows(prompt, [("the cat", "a dog eats food")])
    full = OFFICIAL_PREFIX + official_body("the cat", "a dog eats food") + OFFICIAL_SUFFIX
    assert ids == tokenizer.encode(full, add_special_tokens=False)
    assert tokenizer.decode(ids) == full
    assert ids[: len(prompt.prefix_ids)] == prompt.prefix_ids and ids[-len(prompt.suffix_ids) :] == prompt.suffix_ids
    assert tokenizer.convert_ids_to_tokens([prompt.yes_id, prompt.no_id]) == ["yes", "no"]


def test_instruction_goes_into_the_prompt(prompt: RerankPrompt) -> None:
    (ids,) = pair_rows(prompt, [("q", "d")], instruction="Find cats")
    assert prompt.tokenizer.decode(ids) == OFFICIAL_PREFIX + official_body("q", "d", "Find cats") + OFFICIAL_SUFFIX


def test_truncation_cuts_only_the_body(qwen3_reranker_path: Path) -> None:
    prompt = RerankPrompt(AutoTokenizer.from_pretrained(qwen3_reranker_path), QWEN3_RERANKER, max_tokens=200)
    (ids,) = pair_rows(prompt, [("the cat", " ".join(["vector database"] * 200))])
    assert len(ids) == 200
    assert ids[: len(prompt.prefix_ids)] == prompt.prefix_ids and ids[-len(prompt.suffix_ids) :] == prompt.suffix_ids
    text = prompt.tokenizer.decode(ids)
    assert "<Query>: the cat\n<Document>: vector database" in text, "the document's tail goes, the query stays"


def test_left_padding_with_the_pad_token(prompt: RerankPrompt) -> None:
    batch = pad_batch(pair_rows(prompt, PAIRS), prompt.pad_id, prompt.padding_side)
    ids, real = batch.ids, batch.mask
    assert real[:, -1].all(), "every row's answer position is the last column"
    assert (ids[~real] == prompt.pad_id).all() and not real[:, 0].all()


def test_torch_scores_match_the_official_transformers_code(qwen3_reranker_path: Path) -> None:
    scorer = TorchQwen3Reranker(str(qwen3_reranker_path), QWEN3_RERANKER, Settings())
    assert (scorer.info.kind, scorer.info.backend, scorer.info.max_tokens) == ("qwen3-reranker", "torch", 512)
    ids = pair_rows(scorer, PAIRS)
    logits = score_rows(scorer, ids)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), official_scores(qwen3_reranker_path, PAIRS), atol=1e-5)
    one_by_one = np.concatenate([score_rows(scorer, [row]) for row in ids])
    np.testing.assert_allclose(one_by_one, logits, atol=1e-4)
    assert len(set(np.round(logits, 3))) == len(PAIRS), "the tiny reranker must not tie"


def test_registry_routes_rerankers_by_their_config(qwen3_reranker_path: Path, cross_encoder_path: Path) -> None:
    assert scorer_target("torch", str(qwen3_reranker_path)).endswith("torch.qwen3_reranker:load_scorer")
    assert scorer_target("mlx", str(qwen3_reranker_path)).endswith("mlx.qwen3_reranker:load_scorer")
    # BERT cross-encoders stay on sentence-transformers, whatever runs the embedder.
    assert scorer_target("torch", str(cross_encoder_path)).endswith("torch.cross_encoder:load_scorer")
    assert scorer_target("mlx", str(cross_encoder_path)).endswith("torch.cross_encoder:load_scorer")
