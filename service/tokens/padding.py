"""Token-id batches padded into rectangles, with the mask of real tokens (shared by every backend)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from service.backends.base import TokenIds


def pad_batch(
    batch: Sequence[TokenIds], pad_id: int, side: str = "left"
) -> tuple[NDArray[np.int32], NDArray[np.bool_]]:
    """(ids, real) of shape (len(batch), longest); `real` is False on padding.

    Left padding puts every row's last real token in the last column, which is where decoder
    models are pooled (embeddings) or read (reranker logits).
    """
    if side not in ("left", "right"):
        raise ValueError(f"padding side must be 'left' or 'right', not {side!r}")
    width = max((len(row) for row in batch), default=0)
    ids = np.full((len(batch), width), pad_id, dtype=np.int32)
    real = np.zeros((len(batch), width), dtype=np.bool_)
    for i, row in enumerate(batch):
        start = width - len(row) if side == "left" else 0
        ids[i, start : start + len(row)] = row
        real[i, start : start + len(row)] = True
    return ids, real


def last_real_index(real: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Column of each row's last real token, whichever side was padded."""
    width = real.shape[1]
    index: NDArray[np.int64] = (width - 1 - np.argmax(real[:, ::-1], axis=1)).astype(np.int64)
    return index
