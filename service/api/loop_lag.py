"""Event-loop lag: how late a timer fires tells how long something blocked the loop (metrics, /health)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

_INTERVAL_S = 0.05
_WINDOW_S = 10.0


class LoopLagMonitor:
    """A task sleeping `_INTERVAL_S` at a time; every overshoot is lag every request on the loop also felt."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque()  # (when, lag seconds)
        self._task: asyncio.Task[None] | None = None
        self.worst_ever = 0.0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(_INTERVAL_S)
            now = time.perf_counter()
            lag = max(0.0, now - before - _INTERVAL_S)
            self._samples.append((now, lag))
            self.worst_ever = max(self.worst_ever, lag)
            while self._samples and self._samples[0][0] < now - _WINDOW_S:
                self._samples.popleft()

    @property
    def recent_max(self) -> float:
        """The worst lag of the last ten seconds."""
        return max((lag for _, lag in self._samples), default=0.0)
