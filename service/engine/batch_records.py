"""What the batchers count and report after every batch (for /health, the console and metrics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.engine.classes import WorkClass


@dataclass
class BatcherStats:
    """Counters for /health, the console and metrics."""

    batches: int = 0
    items: int = 0
    padded_tokens: int = 0
    real_tokens: int = 0
    dropped_items: int = 0
    failures: int = 0
    oom_splits: int = 0  # batches split in two after the device ran out of memory
    consecutive_failures: int = 0  # reset by a successful batch; /health turns unhealthy above a limit


@dataclass(frozen=True)
class BatchRecord:
    """One finished batch, for observers (metrics histograms)."""

    batcher: str
    items: int
    tokens: int
    padded_tokens: int
    seconds: float
    failed: bool
    work_class: WorkClass = "bulk"


BatchObserver = Callable[[BatchRecord], None]
