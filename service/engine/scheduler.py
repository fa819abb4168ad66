"""Which class of work the batcher serves next: interactive first, within a bounded share of inference time."""

from __future__ import annotations

import math
from dataclasses import dataclass

from service.engine.classes import WORK_CLASSES, WorkClass

# The share is judged over roughly the last few seconds of contended time: long enough to span many
# batches, short enough that a burst long past does not decide today's order.
_SHARE_WINDOW_S = 5.0


@dataclass
class ClassStats:
    """Per class of work, for /health and metrics."""

    requests: int = 0
    items: int = 0
    tokens: int = 0
    batches: int = 0
    inference_seconds: float = 0.0
    queue_seconds: float = 0.0  # summed over requests: the longest wait of each request's items


class ClassScheduler:
    """Interactive work goes first; but while both classes have work, interactive may take at most
    `interactive_share` of the inference time (decayed over a few seconds), so bulk never starves."""

    def __init__(self, interactive_share: float) -> None:
        self.interactive_share = interactive_share
        self._used: dict[WorkClass, float] = {c: 0.0 for c in WORK_CLASSES}
        self.stats: dict[WorkClass, ClassStats] = {c: ClassStats() for c in WORK_CLASSES}

    def next_class(self, waiting: dict[WorkClass, bool]) -> WorkClass | None:
        """The class whose batch runs next, or None when neither has work."""
        if waiting["interactive"] and waiting["bulk"]:
            return "interactive" if self.interactive_share_used() < self.interactive_share else "bulk"
        if waiting["interactive"]:
            return "interactive"
        return "bulk" if waiting["bulk"] else None

    def interactive_share_used(self) -> float:
        total = self._used["interactive"] + self._used["bulk"]
        return self._used["interactive"] / total if total > 0 else 0.0

    def charge(self, work_class: WorkClass, seconds: float, *, contended: bool) -> None:
        """A batch of `work_class` ran for `seconds`. Only contended time (the other class was waiting)
        counts toward the share: a class alone on the model may use all of it."""
        if not contended:
            return
        decay = math.exp(-seconds / _SHARE_WINDOW_S)
        for name in WORK_CLASSES:
            self._used[name] *= decay
        self._used[work_class] += seconds


# A slice never shrinks below this share of the full budget: on a starved CPU one-row batches lose far
# more throughput (per-pass overheads) than they win in latency.
_MIN_SLICE_SHARE = 1 / 16


def bulk_token_budget(max_batch_tokens: int, slice_s: float, seconds_per_token: float | None) -> int:
    """Bulk batches are cut to about `slice_s` of compute, so interactive work waits at most one such slice
    for the model; accelerators (fast per token) keep their full budget. 0 or no measurement: the full budget."""
    if slice_s <= 0 or not seconds_per_token:
        return max_batch_tokens
    floor = max(1, int(max_batch_tokens * _MIN_SLICE_SHARE))
    return max(floor, min(max_batch_tokens, int(slice_s / seconds_per_token)))
