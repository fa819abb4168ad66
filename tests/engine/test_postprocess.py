"""Post-processing: Matryoshka cut-then-normalise, NaN refusal, sigmoid, stable top-k."""

from __future__ import annotations

import numpy as np
import pytest

from service.engine.postprocess import (
    check_dimensions,
    cosine_to_unit,
    finish_vectors,
    sigmoid,
    top_k_order,
)
from service.errors import InvalidInput, ModelOutputError


def test_matryoshka_cuts_then_normalises() -> None:
    raw = np.array([[3.0, 4.0, 12.0]], dtype=np.float32)
    out = finish_vectors(raw, dimensions=2, normalize=True)
    np.testing.assert_allclose(out, [[0.6, 0.8]], atol=1e-6)
    np.testing.assert_allclose(finish_vectors(raw, dimensions=None, normalize=False), raw)


def test_non_finite_output_is_refused() -> None:
    with pytest.raises(ModelOutputError):
        finish_vectors(np.array([[np.nan, 1.0]], dtype=np.float32), dimensions=None, normalize=True)


@pytest.mark.parametrize("dims", [0, -1, 5])
def test_dimensions_out_of_range(dims: int) -> None:
    with pytest.raises(InvalidInput, match="between 1 and 4"):
        check_dimensions(dims, 4)


def test_scores() -> None:
    np.testing.assert_allclose(sigmoid(np.array([0.0, 100.0, -100.0], np.float32)), [0.5, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(cosine_to_unit(np.array([-1.0, 0.0, 1.0], np.float32)), [0.0, 0.5, 1.0])
    assert top_k_order(np.array([0.1, 0.9, 0.9, 0.5], np.float32), 3) == [1, 2, 3]
