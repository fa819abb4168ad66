"""Torch encoder: Qwen3 last-token parity with plain transformers, batching, EOS handling, MiniLM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from service.backends.torch.encoder import TorchEncoder, load_encoder
from service.config import Settings
from tests.backends.rows import encode_rows

TEXTS = ["the cat eats food", "a dog", "qdrant is a vector database for local search", "yes"]


def reference_last_token(path: Path, texts: list[str], append_eos: bool) -> np.ndarray:
    """Plain transformers: left padding, EOS at the end, hidden state of the last position."""
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    model = AutoModel.from_pretrained(path).eval()
    rows = tokenizer(texts)["input_ids"]
    if append_eos:
        rows = [[*row, tokenizer.eos_token_id] for row in rows]
    batch = tokenizer.pad({"input_ids": rows}, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    return hidden[:, -1].numpy()


@pytest.mark.parametrize("fixture, needs_eos", [("qwen3_path", False), ("qwen3_bare_path", True)])
def test_qwen3_matches_plain_transformers_last_token(
    request: pytest.FixtureRequest, fixture: str, needs_eos: bool
) -> None:
    path = request.getfixturevalue(fixture)
    encoder = TorchEncoder(str(path), Settings())
    ids = encoder.text.tokenize(TEXTS)
    eos = encoder.tokenizer.eos_token_id
    assert all(row[-1] == eos for row in ids), "every input must end in EOS"
    assert [row.count(eos) for row in ids] == [1] * len(TEXTS), "EOS appended exactly once"
    ours = encode_rows(encoder, ids)
    reference = reference_last_token(path, TEXTS, append_eos=needs_eos)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert encoder.info.family.name == "qwen3-embedding"


def test_qwen3_batched_equals_one_by_one(qwen3_path: Path) -> None:
    encoder = TorchEncoder(str(qwen3_path), Settings())
    ids = encoder.text.tokenize(TEXTS)
    batched = encode_rows(encoder, ids)
    single = np.stack([encode_rows(encoder, [row])[0] for row in ids])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_truncate_keeps_eos_and_limit(qwen3_bare_path: Path) -> None:
    encoder = TorchEncoder(str(qwen3_bare_path), Settings(max_seq_length=8))
    long_text = " ".join(["database"] * 50)
    assert len(encoder.text.tokenize([long_text])[0]) > 8
    (cut,) = encoder.text.truncated([long_text])
    assert len(cut) == 8 and cut[-1] == encoder.tokenizer.eos_token_id


def test_embedded_minilm_is_the_real_model() -> None:
    encoder = load_encoder(Settings())
    assert encoder.info.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (encoder.info.dim, encoder.info.max_tokens) == (384, 256)
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]
    raw = encode_rows(encoder, encoder.text.tokenize(texts))
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0), "raw pooled vectors are not normalised"
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert unit[0] @ unit[1] == pytest.approx(0.755, abs=0.005)
    assert unit[0] @ unit[2] == pytest.approx(-0.10, abs=0.03)
