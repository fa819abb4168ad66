"""Admission: a request is let in only if its estimated wait fits the deadline; the one place that says 429.

Cost is estimated from what is cheap to know before any tokenising (characters, items, pairs),
and the wait from the work already admitted × the measured seconds per token of each model. A
refusal is immediate and carries an honest Retry-After: when enough queued work will be done.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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


@dataclass
class Admission:
    """Estimated seconds of admitted work, shared by every model of the one inference thread."""

    max_wait_s: float
    stats: AdmissionStats = field(default_factory=AdmissionStats)
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

    @contextmanager
    def admit(self, model: str, tokens: int) -> Iterator[None]:
        """Hold the estimated cost of `tokens` on `model` while the block runs; 429 when it won't fit.

        An idle server admits anything: the request runs at once, and a single request too large for
        the deadline is a size problem (413 limits), not overload.
        """
        cost = tokens * self.seconds_per_token(model)
        queued = self.stats.queued_seconds
        if queued > 0 and queued + cost > self.max_wait_s:
            self.stats.rejected += 1
            retry_after = max(1.0, queued + cost - self.max_wait_s)
            raise Overloaded(
                f"the server is busy: ~{queued:.1f}s of work is queued and this request adds ~{cost:.1f}s, "
                f"past the {self.max_wait_s:g}s admission limit; retry later",
                retry_after=math.ceil(retry_after),
            )
        self.stats.admitted += 1
        self.stats.queued_seconds = queued + cost
        try:
            yield
        finally:
            # Release what was reserved, however long it really took (drift never accumulates).
            self.stats.queued_seconds = max(0.0, self.stats.queued_seconds - cost)
