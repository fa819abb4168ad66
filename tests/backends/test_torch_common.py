"""Fast padding: exactly what the tokenizer's own pad builds, for right- and left-padding models."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from service.backends.torch.common import default_model_path, pad_to_tensors


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_matches_the_tokenizer(side: str, qwen3_path: Path) -> None:
    path = default_model_path() if side == "right" else str(qwen3_path)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side=side)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rng = random.Random(5)
    rows = [[rng.randint(5, 200) for _ in range(rng.randint(1, 40))] for _ in range(17)]
    expected = tokenizer.pad({"input_ids": rows}, padding=True, return_tensors="pt")
    got = pad_to_tensors(rows, tokenizer.pad_token_id, left=side == "left")
    assert sorted(got) == sorted(expected.keys())
    for key, tensor in expected.items():
        assert got[key].dtype == tensor.dtype
        assert torch.equal(got[key], tensor), key
