"""Dynamic batching: concurrent requests' items per class of work, sorted by length, cut under a token budget."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import numpy as np
from numpy.typing import NDArray

from service.engine.batch_records import BatcherStats, BatchObserver, BatchRecord
from service.engine.classes import WORK_CLASSES, WorkClass
from service.engine.cutting import BatchLimits, _Item, cut_batches, first_batch, order_items
from service.engine.results import Timings
from service.engine.scheduler import ClassScheduler, bulk_token_budget
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
# Bulk runs in BULK_SLICE_MS passes for this long after the last interactive request arrived: passes of a
# few rows cost a pure ingest 10-15% on 2 cores (measured, benchmarks/peer.py passages), so without queries
# around bulk keeps whole batches.
SLICE_AFTER_QUERY_S = 30.0


class Batcher:
    """Collects token-id items from concurrent callers and runs them on one inference executor.

    Each class of work has its own queue and rounds: a round takes everything queued of one class,
    sorts it and is cut into batches one at a time. Between any two batches the scheduler may switch
    class, so a query that arrives while bulk work runs waits for one bulk batch at most, not a round.
    While queries are around, a bulk batch runs as slices of about BULK_SLICE_MS back to back on the
    inference thread, which stops at the first slice boundary where interactive work is waiting: a query
    waits for one slice, not a batch (no trip through the event loop between slices).
    """

    def __init__(self, name: str, run: RunBatch, executor: Executor, limits: BatchLimits) -> None:
        self.name = name
        self._run = run
        self._executor = executor
        self.limits = limits
        self.stats = BatcherStats()
        self.scheduler = ClassScheduler(limits.interactive_share)
        self._queues: dict[WorkClass, list[_Item]] = {c: [] for c in WORK_CLASSES}  # not yet in a round
        self._rounds: dict[WorkClass, list[_Item]] = {c: [] for c in WORK_CLASSES}  # ordered, not yet run
        self._has_work = asyncio.Event()
        self._arrived = asyncio.Event()  # set by every submit: wakes a collector waiting for company
        self._pending_requests = dict.fromkeys(WORK_CLASSES, 0)
        self._last_round_requests = dict.fromkeys(WORK_CLASSES, 0)
        self._last_round_end = dict.fromkeys(WORK_CLASSES, 0.0)
        self._round_started = dict.fromkeys(WORK_CLASSES, 0.0)
        self._last_round_seconds = dict.fromkeys(WORK_CLASSES, 0.0)
        self._seconds_per_token: float | None = None  # measured per padded token, for bulk slices
        self._interactive_seen = -1e9  # when interactive work last arrived: bulk is sliced only around it
        self._measured_tokens = 0
        self._queued_tokens = 0
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self.observers: list[BatchObserver] = []

    @property
    def queued_tokens(self) -> int:
        return self._queued_tokens

    @property
    def queued_items(self) -> int:
        return sum(len(self._queues[c]) + len(self._rounds[c]) for c in WORK_CLASSES)

    def queued_items_of(self, work_class: WorkClass) -> int:
        return len(self._queues[work_class]) + len(self._rounds[work_class])

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
        for work_class in WORK_CLASSES:
            for item in self._queues[work_class] + self._rounds[work_class]:
                if not item.future.done():
                    item.future.set_exception(NotReady("the service is shutting down"))
            self._queues[work_class].clear()
            self._rounds[work_class].clear()

    async def submit(
        self, rows: Sequence[TokenIds], work_class: WorkClass = "bulk"
    ) -> tuple[NDArray[np.float32], Timings]:
        """Run every row through the model (batched with others of its class); results in the caller's order."""
        if self._closed:
            raise NotReady("the service is shutting down")
        if not self.alive:
            raise ServiceError(f"the {self.name} inference worker is not running")
        cost = sum(len(ids) for ids in rows)
        loop = asyncio.get_running_loop()
        items = [_Item(ids=list(ids), future=loop.create_future(), work_class=work_class) for ids in rows]
        self._queues[work_class].extend(items)
        if work_class == "interactive":
            self._interactive_seen = time.perf_counter()
        self._pending_requests[work_class] += 1
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
        counts = self.scheduler.stats[work_class]
        counts.requests += 1
        counts.queue_seconds += timings.queue
        return (np.stack(results) if results else np.zeros((0, 0), np.float32)), timings

    def _waiting(self) -> dict[WorkClass, bool]:
        return {c: bool(self._queues[c] or self._rounds[c]) for c in WORK_CLASSES}

    async def _collect(self) -> None:
        while True:
            await self._has_work.wait()
            work_class = self.scheduler.next_class(self._waiting())
            if work_class is not None and not self._rounds[work_class]:
                await self._wait_for_company(work_class)
                work_class = self.scheduler.next_class(self._waiting())  # a query may have cut the wait short
                if work_class is not None and not self._rounds[work_class]:
                    self._start_round(work_class)
            if work_class is None:
                self._has_work.clear()
                continue
            contended = all(self._waiting().values())
            batch = self._take_batch(work_class)
            seconds = await self._run_batch(batch, work_class)
            contended = contended or all(self._waiting().values())  # a query came during a sliced batch
            self.scheduler.charge(work_class, seconds, contended=contended)
            if not self._rounds[work_class]:
                now = time.perf_counter()
                self._last_round_end[work_class] = now
                self._last_round_seconds[work_class] = now - self._round_started[work_class]

    def _start_round(self, work_class: WorkClass) -> None:
        self._rounds[work_class] = order_items(self._queues[work_class], self.limits)
        self._queues[work_class] = []
        self._last_round_requests[work_class] = self._pending_requests[work_class]
        self._pending_requests[work_class] = 0
        self._round_started[work_class] = time.perf_counter()

    def _take_batch(self, work_class: WorkClass) -> list[_Item]:
        ordered = self._rounds[work_class]
        size = first_batch(ordered, self.limits.max_batch_tokens, self.limits.max_batch_items)
        self._rounds[work_class] = ordered[size:]
        return ordered[:size]

    def _slices(self, batch: list[_Item], work_class: WorkClass) -> list[list[_Item]]:
        """A bulk batch cut into passes of about BULK_SLICE_MS of measured compute; any other batch whole."""
        if work_class != "bulk" or time.perf_counter() - self._interactive_seen > SLICE_AFTER_QUERY_S:
            return [batch]
        tokens = bulk_token_budget(self.limits.max_batch_tokens, self.limits.bulk_slice_s, self._seconds_per_token)
        slices = []
        while batch:
            size = first_batch(batch, tokens, self.limits.max_batch_items)
            slices.append(batch[:size])
            batch = batch[size:]
        return slices

    def _interactive_is_next(self) -> bool:
        """Asked on the inference thread between bulk slices: would the scheduler now pick interactive work?
        It only reads lists and floats the event loop writes (atomic under the GIL); a stale answer costs
        at most one slice."""
        waiting = bool(self._queues["interactive"] or self._rounds["interactive"])
        return waiting and self.scheduler.next_class({"interactive": True, "bulk": True}) == "interactive"

    async def _wait_for_company(self, work_class: WorkClass) -> None:
        """Right after a busy round of this class, wait until as many requests are back as that round had
        (clients answered a moment ago are about to send again), for at most `wait_s` or, after a long
        round, 5% of it (capped at 50 ms). Never wait when the model was idle for this class or the last
        round served a single caller: that would only add latency; nor keep bulk waiting once a query is in."""
        limits = self.limits
        if limits.wait_s <= 0 or time.perf_counter() - self._last_round_end[work_class] >= _BUSY_WINDOW_S:
            return
        adaptive = min(self._last_round_seconds[work_class] * _WAIT_SHARE_OF_ROUND, _MAX_ADAPTIVE_WAIT_S)
        deadline = time.perf_counter() + max(limits.wait_s, adaptive)
        queue = self._queues[work_class]
        while (
            self._pending_requests[work_class] < self._last_round_requests[work_class]
            and len(queue) < limits.max_batch_items
        ):
            if work_class == "bulk" and self._queues["interactive"]:
                return
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                return

    async def _run_batch(self, batch: list[_Item], work_class: WorkClass) -> float:
        """Run one batch (a bulk batch slice by slice, yielding to queries between slices); returns the
        seconds it took on the inference thread (0 when all callers left). Slices not run go back to the
        front of the round."""
        live = [item for item in batch if not item.future.done()]
        dropped = len(batch) - len(live)
        if dropped:
            self.stats.dropped_items += dropped
            self._queued_tokens -= sum(len(item.ids) for item in batch) - sum(len(i.ids) for i in live)
        if not live:
            return 0.0
        slices = self._slices(live, work_class)
        started = time.perf_counter()
        for item in live:
            item.started = started
        try:
            ran = await asyncio.get_running_loop().run_in_executor(self._executor, self._forward_slices, slices)
        except Exception as exc:  # the backend failed: every caller in this batch hears about it
            self.stats.failures += 1
            self.stats.consecutive_failures += 1
            logger.exception("%s batch of %d failed", self.name, len(live))
            error = exc if isinstance(exc, ServiceError) else ServiceError("inference failed")
            for item in live:
                if not item.future.done():
                    item.future.set_exception(error)
            seconds = time.perf_counter() - started
            self._queued_tokens -= sum(len(item.ids) for item in live)
            self._record(live, seconds, work_class, failed=True)
            return seconds
        finished = time.perf_counter()
        self.stats.consecutive_failures = 0
        for done, (outputs, seconds) in zip(slices, ran, strict=False):
            self._queued_tokens -= sum(len(item.ids) for item in done)
            self._record(done, seconds, work_class, failed=False)
            for row, item in enumerate(done):
                item.finished = finished
                if not item.future.done():
                    item.future.set_result(outputs[row])
        for item in (left := [item for rest in slices[len(ran) :] for item in rest]):
            item.started = 0.0
        self._rounds[work_class] = left + self._rounds[work_class]
        return sum(seconds for _, seconds in ran)

    def _forward_slices(self, slices: list[list[_Item]]) -> list[tuple[NDArray[np.float32], float]]:
        """On the inference thread: the slices back to back, stopping early when a query is waiting.
        Each slice's outputs and seconds."""
        ran: list[tuple[NDArray[np.float32], float]] = []
        for index, piece in enumerate(slices):
            if index and self._interactive_is_next():
                break
            started = time.perf_counter()
            outputs = self._forward([item.ids for item in piece])
            ran.append((outputs, time.perf_counter() - started))
        return ran

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

    def _record(self, live: list[_Item], seconds: float, work_class: WorkClass, *, failed: bool) -> None:
        tokens = sum(len(item.ids) for item in live)
        padded = len(live) * max(len(item.ids) for item in live)
        self.stats.batches += 1
        self.stats.items += len(live)
        self.stats.real_tokens += tokens
        self.stats.padded_tokens += padded
        counts = self.scheduler.stats[work_class]
        counts.batches += 1
        counts.items += len(live)
        counts.tokens += tokens
        counts.inference_seconds += seconds
        if not failed and padded:
            # seconds per padded token, smoothed: what a bulk slice of BULK_SLICE_MS may hold
            # (weighted by tokens over roughly the last 20 000, so a tiny warm-up batch weighs little)
            rate, previous = seconds / padded, self._seconds_per_token or 0.0
            weight = padded / (padded + self._measured_tokens)
            self._seconds_per_token = previous + weight * (rate - previous)
            self._measured_tokens = min(self._measured_tokens + padded, 20_000)
        record = BatchRecord(self.name, len(live), tokens, padded, seconds, failed, work_class)
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # an observer must never stop the batcher
                logger.exception("batch observer %r failed", observer)


def is_out_of_memory(exc: BaseException) -> bool:
    """A device allocation failure (torch.cuda.OutOfMemoryError, MPS/MLX "out of memory" errors),
    recognised without importing any framework."""
    return "OutOfMemory" in type(exc).__name__ or "out of memory" in str(exc).lower()


__all__ = ["BatchLimits", "BatchRecord", "Batcher", "BatcherStats", "_Item", "cut_batches", "is_out_of_memory"]
