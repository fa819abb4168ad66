"""Token-id rows padded into one rectangle with its mask: the only padding code, and what every backend takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

TokenIds = list[int]


@dataclass(frozen=True)
class Batch:
    """A padded batch: `ids` (rows, width) int64 and `mask` (True on real tokens)."""

    ids: NDArray[np.int64]
    mask: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def lengths(self) -> NDArray[np.int64]:
        lengths: NDArray[np.int64] = self.mask.sum(axis=1).astype(np.int64)
        return lengths


def pad_batch(rows: Sequence[TokenIds], pad_id: int, side: str = "left") -> Batch:
    """Rows padded to the longest one on `side`.

    Left padding puts every row's last real token in the last column, which is where decoder
    models are pooled (embeddings) or read (reranker logits).
    """
    if side not in ("left", "right"):
        raise ValueError(f"padding side must be 'left' or 'right', not {side!r}")
    width = max((len(row) for row in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.bool_)
    for i, row in enumerate(rows):
        start = width - len(row) if side == "left" else 0
        ids[i, start : start + len(row)] = row
        mask[i, start : start + len(row)] = True
    return Batch(ids, mask)


def last_real_index(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Column of each row's last real token, whichever side was padded."""
    width = mask.shape[1]
    index: NDArray[np.int64] = (width - 1 - np.argmax(mask[:, ::-1], axis=1)).astype(np.int64)
    return index
