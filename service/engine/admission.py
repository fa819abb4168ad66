"""Admission: a request is let in only if its estimated wait fits the deadline; the one place that says 429.

Cost is estimated from what is cheap to know before any tokenising (characters, items, pairs),
and the wait from the work already admitted × the measured seconds per token of each model. A
refusal is immediate and carries an honest Retry-After: when enough queued work will be done.
Each class of work waits for what runs before it: bulk for everything admitted, interactive only
for interactive work and the bulk share the scheduler lets through, so a bulk flood never refuses
a query.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from service.engine.classes import WORK_CLASSES, WorkClass
from service.errors import Overloaded

# Before any batch has been timed: a pessimistic CPU figure (MiniLM on one slow core); the
# warm-up's calibration batch replaces it before the first request.
_DEFAULT_SECONDS_PER_TOKEN = 1e-3
_MEMORY_TOKENS = 50_000


@dataclass
class _Model:
    seconds_per_token: float = _DEFAULT_SECONDS_PER_TOKEN
    measured_tokens: int = 0


@dataclass
class AdmissionStats:
    """Counters for /health and metrics."""

    admitted: int = 0
    rejected: int = 0
    queued_seconds: float = 0.0  # estimated work admitted and not yet finished


def _per_class() -> dict[WorkClass, AdmissionStats]:
    return {c: AdmissionStats() for c in WORK_CLASSES}


@dataclass
class Admission:
    """Estimated seconds of admitted work, shared by every model of the one inference thread."""

    max_wait_s: float
    # The scheduler's bound on interactive time while bulk waits: how much bulk a query still waits for.
    interactive_share: float = 0.8
    stats: AdmissionStats = field(default_factory=AdmissionStats)  # all classes together
    by_class: dict[WorkClass, AdmissionStats] = field(default_factory=_per_class)
    _models: dict[str, _Model] = field(default_factory=dict)

    def seconds_per_token(self, model: str) -> float:
        return self._models.setdefault(model, _Model()).seconds_per_token

    def observe(self, model: str, tokens: int, seconds: float) -> None:
        """A finished batch: refine that model's seconds per token, as an average weighted by tokens over
        roughly the last 50 000 (so one tiny batch does not outweigh a full one, yet drift is followed)."""
        if tokens <= 0:
            return
        state = self._models.setdefault(model, _Model())
        rate = seconds / tokens
        weight = tokens / (tokens + state.measured_tokens)
        state.seconds_per_token += weight * (rate - state.seconds_per_token)
        state.measured_tokens = min(state.measured_tokens + tokens, _MEMORY_TOKENS)

    def forget(self) -> None:
        """Drop every measurement (after the cold warm-up pass, whose first-call overheads mislead)."""
        self._models.clear()

    def wait_ahead(self, work_class: WorkClass) -> float:
        """Estimated seconds of admitted work that runs before new work of this class. Bulk waits for
        all of it; interactive for the interactive work plus the bulk the scheduler interleaves while
        that drains (at most (1 - share) / share of it), never for the whole bulk queue."""
        interactive = self.by_class["interactive"].queued_seconds
        bulk = self.by_class["bulk"].queued_seconds
        if work_class == "bulk":
            return interactive + bulk
        share = min(max(self.interactive_share, 0.05), 1.0)
        return interactive + min(bulk, interactive * (1 - share) / share)

    def check(self, model: str, tokens: int, work_class: WorkClass = "bulk") -> None:
        """Refuse (429) at once if `tokens` more work of this class would not fit the limit, without
        admitting anything: the HTTP layer's early check of a large body before it is parsed."""
        self._refuse_if_full(self.wait_ahead(work_class), tokens * self.seconds_per_token(model), work_class)

    def _refuse_if_full(self, ahead: float, cost: float, work_class: WorkClass) -> None:
        if ahead > 0 and ahead + cost > self.max_wait_s:
            self.stats.rejected += 1
            self.by_class[work_class].rejected += 1
            retry_after = max(1.0, ahead + cost - self.max_wait_s)
            raise Overloaded(
                f"the server is busy: ~{ahead:.1f}s of {work_class} work is queued ahead and this request "
                f"adds ~{cost:.1f}s, past the {self.max_wait_s:g}s admission limit; retry later",
                retry_after=math.ceil(retry_after),
            )

    @contextmanager
    def admit(self, model: str, tokens: int, work_class: WorkClass = "bulk") -> Iterator[None]:
        """Hold the estimated cost of `tokens` on `model` while the block runs; 429 when it won't fit.

        An idle server admits anything: the request runs at once, and a single request too large for
        the deadline is a size problem (413 limits), not overload.
        """
        cost = tokens * self.seconds_per_token(model)
        self._refuse_if_full(self.wait_ahead(work_class), cost, work_class)
        mine = self.by_class[work_class]
        for stats in (self.stats, mine):
            stats.admitted += 1
            stats.queued_seconds += cost
        try:
            yield
        finally:
            # Release what was reserved, however long it really took (drift never accumulates).
            for stats in (self.stats, mine):
                stats.queued_seconds = max(0.0, stats.queued_seconds - cost)
