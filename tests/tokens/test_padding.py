"""The one padding function: exactly what the tokenizer's own pad builds, for right- and left-padding models."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from service.backends.torch.common import default_model_path
from service.tokens.padding import last_real_index, pad_batch


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_matches_the_tokenizer(side: str, qwen3_path: Path) -> None:
    path = default_model_path() if side == "right" else str(qwen3_path)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side=side)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rng = random.Random(5)
    rows = [[rng.randint(5, 200) for _ in range(rng.randint(1, 40))] for _ in range(17)]
    expected = tokenizer.pad({"input_ids": rows}, padding=True, return_tensors="np")
    batch = pad_batch(rows, tokenizer.pad_token_id, side)
    assert batch.ids.dtype == np.int64 and batch.mask.dtype == np.bool_
    np.testing.assert_array_equal(batch.ids, expected["input_ids"])
    np.testing.assert_array_equal(batch.mask, expected["attention_mask"].astype(bool))
    assert batch.lengths.tolist() == [len(row) for row in rows]


@pytest.mark.parametrize("side", ["right", "left"])
def test_last_real_index_finds_each_rows_end(side: str) -> None:
    rows = [[1, 2, 3], [4], [5, 6]]
    batch = pad_batch(rows, 0, side)
    last = last_real_index(batch.mask)
    assert [int(batch.ids[i, last[i]]) for i in range(3)] == [3, 4, 6]


def test_unknown_side_is_refused() -> None:
    with pytest.raises(ValueError, match="padding side"):
        pad_batch([[1]], 0, "middle")
