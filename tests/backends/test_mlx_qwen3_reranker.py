"""MLX Qwen3-Reranker: the same scores as torch (1e-4), the same order, from MLX-format and Hugging Face folders."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from service.backends.torch.qwen3_reranker import TorchQwen3Reranker
from service.config import Settings
from service.families import QWEN3_RERANKER
from tests.backends.rows import pair_rows, score_rows
from tests.conftest import requires_mlx

pytestmark = requires_mlx

PAIRS = [
    ("the cat", "the cat eats food and bread"),
    ("qdrant vector database", "gpu memory"),
    ("a dog", "a dog is a dog"),
    ("rust", "python is slow"),
    ("memory", "the gpu memory of a mac"),
    ("linux", " ".join(["a local server on linux"] * 12)),
]


@pytest.fixture(scope="module")
def torch_scores(qwen3_reranker_path: Path) -> np.ndarray:
    scorer = TorchQwen3Reranker(str(qwen3_reranker_path), QWEN3_RERANKER, Settings())
    return score_rows(scorer, pair_rows(scorer, PAIRS))


def mlx_scorer(path: Path) -> object:
    from service.backends.mlx.qwen3_reranker import MlxQwen3Reranker

    return MlxQwen3Reranker(str(path), QWEN3_RERANKER, Settings())


@pytest.mark.parametrize("fixture", ["qwen3_reranker_mlx_path", "qwen3_reranker_path"])
def test_scores_equal_torch_and_order_is_identical(
    request: pytest.FixtureRequest, fixture: str, torch_scores: np.ndarray
) -> None:
    scorer = mlx_scorer(request.getfixturevalue(fixture))
    ids = pair_rows(scorer, PAIRS)  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=1) as pool:  # as in the engine: inference on its own thread
        scores = pool.submit(score_rows, scorer, ids).result()  # type: ignore[attr-defined]
    np.testing.assert_allclose(scores, torch_scores, atol=1e-4)
    assert list(np.argsort(-scores)) == list(np.argsort(-torch_scores))
    assert len(set(np.round(scores, 2))) == len(PAIRS), "scores must differ for the order to mean something"
    one_by_one = np.concatenate([score_rows(scorer, [row]) for row in ids])  # type: ignore[attr-defined]
    np.testing.assert_allclose(one_by_one, scores, atol=1e-4)
    assert (scorer.info.backend, scorer.info.kind) == ("mlx", "qwen3-reranker")  # type: ignore[attr-defined]


def test_quantised_reranker(qwen3_reranker_path: Path, tmp_path: Path, torch_scores: np.ndarray) -> None:
    from service.backends.mlx.convert import convert_to_mlx

    path = convert_to_mlx(str(qwen3_reranker_path), tmp_path / "q8", bits=8, group_size=32)
    scorer = mlx_scorer(path)
    assert scorer.info.name == str(path) and scorer.mlx.dtype == "8-bit/float32"  # type: ignore[attr-defined]
    scores = score_rows(scorer, pair_rows(scorer, PAIRS))  # type: ignore[attr-defined]
    np.testing.assert_allclose(scores, torch_scores, atol=0.05)
    assert not np.allclose(scores, torch_scores, atol=1e-5), "quantised weights really are used"
