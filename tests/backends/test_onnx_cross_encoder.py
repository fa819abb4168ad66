"""ONNX cross-encoder: raw logits equal the torch cross-encoder's, batched or not; segment ids shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from service.backends.onnx.cross_encoder import OnnxCrossEncoder
from service.backends.torch.cross_encoder import TorchCrossEncoder
from service.config import Settings
from tests.backends.rows import pair_rows, score_rows

PAIRS = [
    ("the cat", "the cat eats food and bread"),
    ("qdrant vector database", "gpu memory"),
    ("a dog", "a dog is a dog"),
    ("rust", "qdrant is a fast vector database written in rust for local search"),
]


def test_logits_match_torch(cross_encoder_path: Path, onnx_cache_dir: Path) -> None:
    torch_scorer = TorchCrossEncoder(str(cross_encoder_path), Settings())
    scorer = OnnxCrossEncoder(str(cross_encoder_path), Settings(onnx_cache_dir=str(onnx_cache_dir)))
    assert (scorer.info.backend, scorer.info.kind, scorer.info.max_tokens) == ("onnx", "cross-encoder", 128)
    ids = pair_rows(scorer, PAIRS)
    assert ids == pair_rows(torch_scorer, PAIRS)
    reference = score_rows(torch_scorer, ids)
    assert len(set(np.round(reference, 3))) == len(PAIRS), "tiny model must not tie"
    np.testing.assert_allclose(score_rows(scorer, ids), reference, atol=1e-4)
    one_by_one = np.concatenate([score_rows(scorer, [row]) for row in ids])
    np.testing.assert_allclose(one_by_one, reference, atol=1e-4)


def test_int8_cross_encoder_keeps_the_ranking(cross_encoder_path: Path, onnx_cache_dir: Path) -> None:
    float32 = OnnxCrossEncoder(str(cross_encoder_path), Settings(onnx_cache_dir=str(onnx_cache_dir)))
    int8 = OnnxCrossEncoder(str(cross_encoder_path), Settings(onnx_cache_dir=str(onnx_cache_dir), onnx_quantize="int8"))
    ids = pair_rows(float32, PAIRS)
    exact, quantised = score_rows(float32, ids), score_rows(int8, ids)
    assert not np.array_equal(exact, quantised)
    assert list(np.argsort(quantised)) == list(np.argsort(exact))
