"""Torch cross-encoder: raw logits equal sentence-transformers' CrossEncoder, batched or not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sentence_transformers import CrossEncoder

from service.backends.torch.cross_encoder import TorchCrossEncoder
from service.config import Settings
from tests.backends.rows import pair_rows, score_rows

PAIRS = [
    ("the cat", "the cat eats food and bread"),
    ("qdrant vector database", "gpu memory"),
    ("a dog", "a dog is a dog"),
]


def test_logits_match_sentence_transformers(cross_encoder_path: Path) -> None:
    reference = CrossEncoder(str(cross_encoder_path), device="cpu").predict(PAIRS, activation_fn=torch.nn.Identity())
    scorer = TorchCrossEncoder(str(cross_encoder_path), Settings())
    ids = pair_rows(scorer, PAIRS)
    np.testing.assert_allclose(score_rows(scorer, ids), reference, atol=1e-5)
    one_by_one = np.concatenate([score_rows(scorer, [row]) for row in ids])
    np.testing.assert_allclose(one_by_one, reference, atol=1e-5)
    assert len(set(np.round(reference, 3))) == len(PAIRS), "tiny model must not tie"
