"""Dynamic batching: items from all concurrent requests, sorted by length, cut under a token budget."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from service.engine.results import Timings
from service.errors import NotReady, ServiceError
from service.tokens.padding import TokenIds

logger = logging.getLogger(__name__)

RunBatch = Callable[[Sequence[TokenIds]], NDArray[np.float32]]

# A round that ended this recently means the model is busy: waiting a little for company then
# costs nothing and fills the next batch. An idle server dispatches at once.
_BUSY_WINDOW_S = 0.05
# After a long round, the wait for returning callers may grow to this share of the round's time
# (capped): it costs at most that much throughput, and regathering every caller lets one sort
# see all their texts (mixed lengths: one sorted round beats several half rounds).
_WAIT_SHARE_OF_ROUND = 0.05
_MAX_ADAPTIVE_WAIT_S = 0.05


@dataclass
class BatchLimits:
    """How batches are cut and how much may wait."""

    max_batch_tokens: int
    max_batch_items: int
    wait_s: float
    # False = first-in-first-out batches: only the benchmark's baseline (BATCH_ORDER=fifo) wants it.
    sort_by_length: bool = True


@dataclass(eq=False)
class _Item:
    ids: TokenIds
    future: asyncio.Future[NDArray[np.float32]]
    enqueued: float = field(default_factory=time.perf_counter)
    started: float = 0.0
    finished: float = 0.0


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


BatchObserver = Callable[[BatchRecord], None]


def cut_batches(items: Sequence[_Item], limits: BatchLimits) -> list[list[_Item]]:
    """Sort by length and cut so that (items x longest) stays under the token budget.

    Sorting keeps padding small: a batch holds texts of similar length. An item longer than
    the whole budget still runs, alone. Without sorting (the FIFO baseline) batches keep
    arrival order under the same budget.
    """
    ordered = sorted(items, key=lambda item: len(item.ids)) if limits.sort_by_length else items
    batches: list[list[_Item]] = []
    current: list[_Item] = []
    longest = 0
    for item in ordered:
        length = max(longest, len(item.ids))
        padded_cost = (len(current) + 1) * length
        if current and (padded_cost > limits.max_batch_tokens or len(current) >= limits.max_batch_items):
            batches.append(current)
            current, length = [], len(item.ids)
        current.append(item)
        longest = length
    if current:
        batches.append(current)
    return batches


class Batcher:
    """Collects token-id items from concurrent callers and runs them on one inference executor."""

    def __init__(self, name: str, run: RunBatch, executor: Executor, limits: BatchLimits) -> None:
        self.name = name
        self._run = run
        self._executor = executor
        self.limits = limits
        self.stats = BatcherStats()
        self._pending: list[_Item] = []
        self._has_work = asyncio.Event()
        self._arrived = asyncio.Event()  # set by every submit: wakes a collector waiting for company
        self._pending_requests = 0
        self._last_round_requests = 0
        self._queued_tokens = 0
        self._last_round_end = 0.0
        self._last_round_seconds = 0.0
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self.observers: list[BatchObserver] = []

    @property
    def queued_tokens(self) -> int:
        return self._queued_tokens

    @property
    def queued_items(self) -> int:
        return len(self._pending)

    @property
    def alive(self) -> bool:
        """False once the collector task has ended (stopped, or died of a bug): nothing would run."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._collect(), name=f"batcher-{self.name}")

    async def stop(self, drain_timeout_s: float = 30.0) -> None:
        """Refuse new work, let queued work finish (up to the timeout), then stop the collector."""
        self._closed = True
        deadline = time.monotonic() + drain_timeout_s
        while self._queued_tokens > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for item in self._pending:
            if not item.future.done():
                item.future.set_exception(NotReady("the service is shutting down"))
        self._pending.clear()

    async def submit(self, rows: Sequence[TokenIds]) -> tuple[NDArray[np.float32], Timings]:
        """Run every row through the model (batched with others); results in the caller's order."""
        if self._closed:
            raise NotReady("the service is shutting down")
        if not self.alive:
            raise ServiceError(f"the {self.name} inference worker is not running")
        cost = sum(len(ids) for ids in rows)
        loop = asyncio.get_running_loop()
        items = [_Item(ids=list(ids), future=loop.create_future()) for ids in rows]
        self._pending.extend(items)
        self._pending_requests += 1
        self._queued_tokens += cost
        self._has_work.set()
        self._arrived.set()
        try:
            if len(items) == 1:  # the common single-text request: no gather machinery
                results = [await items[0].future]
            else:
                results = await asyncio.gather(*(item.future for item in items))
        except BaseException:
            for item in items:  # a disconnect or a failure: the collector skips what is left
                item.future.cancel()
            raise
        timings = Timings(
            queue=max(item.started - item.enqueued for item in items),
            inference=max(item.finished for item in items) - min(item.started for item in items),
            compute_tokens=cost,
        )
        return (np.stack(results) if results else np.zeros((0, 0), np.float32)), timings

    async def _collect(self) -> None:
        while True:
            await self._has_work.wait()
            await self._wait_for_company()
            items, self._pending = self._pending, []
            self._last_round_requests, self._pending_requests = self._pending_requests, 0
            self._has_work.clear()
            started = time.perf_counter()
            for batch in cut_batches(items, self.limits):
                await self._run_batch(batch)
            self._last_round_end = time.perf_counter()
            self._last_round_seconds = self._last_round_end - started

    async def _wait_for_company(self) -> None:
        """Right after a busy round, wait until as many requests are back as that round had (clients
        answered a moment ago are about to send again), for at most `wait_s` or, after a long round,
        5% of it (capped at 50 ms). Never wait when the model was idle or the last round served a
        single caller: that would only add latency."""
        limits = self.limits
        if limits.wait_s <= 0 or time.perf_counter() - self._last_round_end >= _BUSY_WINDOW_S:
            return
        adaptive = min(self._last_round_seconds * _WAIT_SHARE_OF_ROUND, _MAX_ADAPTIVE_WAIT_S)
        deadline = time.perf_counter() + max(limits.wait_s, adaptive)
        while self._pending_requests < self._last_round_requests and len(self._pending) < limits.max_batch_items:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                return

    async def _run_batch(self, batch: list[_Item]) -> None:
        live = [item for item in batch if not item.future.done()]
        dropped = len(batch) - len(live)
        if dropped:
            self.stats.dropped_items += dropped
            self._queued_tokens -= sum(len(item.ids) for item in batch) - sum(len(i.ids) for i in live)
        if not live:
            return
        started = time.perf_counter()
        for item in live:
            item.started = started
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._forward, [item.ids for item in live]
            )
        except Exception as exc:  # the backend failed: every caller in this batch hears about it
            self.stats.failures += 1
            self.stats.consecutive_failures += 1
            logger.exception("%s batch of %d failed", self.name, len(live))
            error = exc if isinstance(exc, ServiceError) else ServiceError("inference failed")
            for item in live:
                if not item.future.done():
                    item.future.set_exception(error)
            outputs = None
        finished = time.perf_counter()
        tokens = sum(len(item.ids) for item in live)
        self._queued_tokens -= tokens
        self._record(live, tokens, finished - started, failed=outputs is None)
        if outputs is None:
            return
        self.stats.consecutive_failures = 0
        for row, item in enumerate(live):
            item.finished = finished
            if not item.future.done():
                item.future.set_result(outputs[row])

    def _forward(self, rows: list[TokenIds]) -> NDArray[np.float32]:
        """One forward pass; when the device runs out of memory, the batch is halved and retried, so no
        request fails for a cause a smaller batch avoids (a single row that does not fit still fails)."""
        try:
            return self._run(rows)
        except Exception as exc:
            if len(rows) < 2 or not is_out_of_memory(exc):
                raise
            self.stats.oom_splits += 1
            logger.warning("%s batch of %d rows ran out of device memory; splitting it in two", self.name, len(rows))
            half = len(rows) // 2
            return np.concatenate([self._forward(rows[:half]), self._forward(rows[half:])])

    def _record(self, live: list[_Item], tokens: int, seconds: float, *, failed: bool) -> None:
        padded = len(live) * max(len(item.ids) for item in live)
        self.stats.batches += 1
        self.stats.items += len(live)
        self.stats.real_tokens += tokens
        self.stats.padded_tokens += padded
        record = BatchRecord(self.name, len(live), tokens, padded, seconds, failed)
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # an observer must never stop the batcher
                logger.exception("batch observer %r failed", observer)


def is_out_of_memory(exc: BaseException) -> bool:
    """A device allocation failure (torch.cuda.OutOfMemoryError, MPS/MLX "out of memory" errors),
    recognised without importing any framework."""
    return "OutOfMemory" in type(exc).__name__ or "out of memory" in str(exc).lower()
