"""The one place where raw model outputs become answers: finiteness, Matryoshka cuts, norms, scores."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from service.errors import InvalidInput, ModelOutputError


def check_finite(values: NDArray[np.float32], what: str) -> None:
    """Refuse NaN/Inf model output: a broken vector must never reach a caller."""
    if not np.isfinite(values).all():
        raise ModelOutputError(f"the model produced non-finite {what}; nothing was returned")


def check_dimensions(dimensions: int | None, native: int) -> None:
    """Matryoshka sizes must lie in 1..native."""
    if dimensions is not None and not 1 <= dimensions <= native:
        raise InvalidInput(
            f"dimensions must be between 1 and {native} for this model, got {dimensions}",
            param="dimensions",
        )


def l2_normalize(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Unit-length rows; an all-zero row stays zero instead of becoming NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return normalized


def finish_vectors(raw: NDArray[np.float32], *, dimensions: int | None, normalize: bool) -> NDArray[np.float32]:
    """Matryoshka: cut to the first `dimensions` components, THEN normalise (if asked)."""
    check_finite(raw, "embeddings")
    vectors = raw[:, :dimensions] if dimensions is not None else raw
    return l2_normalize(vectors) if normalize else np.ascontiguousarray(vectors, dtype=np.float32)


def sigmoid(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Cross-encoder logits → calibrated 0..1 relevance."""
    result: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    return result


def cosine_to_unit(cosines: NDArray[np.float32]) -> NDArray[np.float32]:
    """Cosine in -1..1 mapped linearly onto 0..1, for dialects that promise 0..1 relevance."""
    result: NDArray[np.float32] = np.clip((cosines + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    return result


def top_k_order(scores: NDArray[np.float32], k: int | None) -> list[int]:
    """Indices of the k best scores, best first; ties keep input order (stable)."""
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in (order if k is None else order[:k])]
