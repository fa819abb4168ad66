"""How a round of queued items is ordered and cut into batches under a token and an item budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from service.engine.classes import WorkClass
from service.tokens.padding import TokenIds


@dataclass
class BatchLimits:
    """How batches are cut and how much may wait."""

    max_batch_tokens: int
    max_batch_items: int
    wait_s: float
    # False = first-in-first-out batches: only the benchmark's baseline (BATCH_ORDER=fifo) wants it.
    sort_by_length: bool = True
    # While both classes wait, interactive batches may take at most this share of inference time.
    interactive_share: float = 0.8
    # A bulk forward pass is cut to about this many seconds of compute (0 = MAX_BATCH_TOKENS only), so
    # an interactive request waits for at most one such slice.
    bulk_slice_s: float = 0.0


@dataclass(eq=False)
class _Item:
    ids: TokenIds
    future: asyncio.Future[NDArray[np.float32]]
    work_class: WorkClass = "bulk"
    enqueued: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    finished: float = 0.0


def order_items(items: Sequence[_Item], limits: BatchLimits) -> list[_Item]:
    """A round's items in the order batches are cut: by length (least padding), or arrival (FIFO baseline)."""
    return sorted(items, key=lambda item: len(item.ids)) if limits.sort_by_length else list(items)


def first_batch(ordered: Sequence[_Item], max_tokens: int, max_items: int) -> int:
    """How many of the leading items form one batch whose (items x longest) stays under `max_tokens`.
    An item longer than the whole budget still runs, alone."""
    longest = 0
    for count, item in enumerate(ordered):
        longest = max(longest, len(item.ids))
        if count and ((count + 1) * longest > max_tokens or count >= max_items):
            return count
    return len(ordered)


def cut_batches(items: Sequence[_Item], limits: BatchLimits) -> list[list[_Item]]:
    """Sort by length and cut so that (items x longest) stays under the token budget.

    Sorting keeps padding small: a batch holds texts of similar length. Without sorting (the FIFO
    baseline) batches keep arrival order under the same budget.
    """
    ordered = order_items(items, limits)
    batches: list[list[_Item]] = []
    while ordered:
        size = first_batch(ordered, limits.max_batch_tokens, limits.max_batch_items)
        batches.append(ordered[:size])
        ordered = ordered[size:]
    return batches
