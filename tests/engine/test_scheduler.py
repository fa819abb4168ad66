"""The class scheduler with the real batcher: a query jumps the bulk round, bulk keeps its share, bulk is sliced."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from service.engine.batch_records import BatchRecord
from service.engine.batcher import Batcher, BatchLimits
from service.engine.scheduler import ClassScheduler, bulk_token_budget
from service.tokens.padding import TokenIds


class TimedModel:
    """A deterministic model that takes `per_token_s` of wall time per padded token, as a forward pass does."""

    def __init__(self, per_token_s: float = 0.001) -> None:
        self.per_token_s = per_token_s

    def __call__(self, batch: Sequence[TokenIds]) -> np.ndarray:
        threading.Event().wait(self.per_token_s * len(batch) * max(len(ids) for ids in batch))
        return np.array([[sum(ids), len(ids)] for ids in batch], dtype=np.float32)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown()


def batcher_with(executor: ThreadPoolExecutor, **overrides: float) -> tuple[Batcher, list[BatchRecord]]:
    values: dict[str, float] = {"max_batch_tokens": 64, "max_batch_items": 64, "wait_s": 0.002}
    values.update(overrides)
    batcher = Batcher("embed", TimedModel(), executor, BatchLimits(**values))  # type: ignore[arg-type]
    records: list[BatchRecord] = []
    batcher.observers.append(records.append)
    batcher.start()
    return batcher, records


def rows(count: int, length: int, value: int = 1) -> list[TokenIds]:
    return [[value] * length for _ in range(count)]


async def query_during_bulk(executor: ThreadPoolExecutor, query_class: str) -> list[str]:
    """Classes of the batches in run order, when one query arrives as a 10-batch bulk round starts."""
    batcher, records = batcher_with(executor)
    bulk = asyncio.ensure_future(batcher.submit(rows(40, 16), "bulk"))  # 4 rows of 16 per batch: 10 batches
    while not records:
        await asyncio.sleep(0.005)
    out, _ = await batcher.submit(rows(1, 8, 3), query_class)  # type: ignore[arg-type]
    assert out[0, 0] == 24
    await bulk
    await batcher.stop()
    return [r.work_class if r.items != 1 else "query" for r in records]


async def test_a_query_waits_for_one_bulk_batch_not_the_round(executor: ThreadPoolExecutor) -> None:
    order = await query_during_bulk(executor, "interactive")
    assert order.count("bulk") == 10
    assert order.index("query") <= 2, f"the query ran after {order.index('query')} bulk batches: {order}"


async def test_in_one_class_the_same_query_waits_for_the_whole_round(executor: ThreadPoolExecutor) -> None:
    order = await query_during_bulk(executor, "bulk")  # what WORK_CLASSES=false does
    assert order.index("query") == 10, order


async def test_bulk_keeps_its_share_under_a_stream_of_queries(executor: ThreadPoolExecutor) -> None:
    batcher, records = batcher_with(executor, interactive_share=0.75)
    stop = asyncio.Event()

    async def client(i: int) -> int:
        sent = 0
        while not stop.is_set():
            await batcher.submit(rows(4, 16, i + 1), "interactive")  # one 64-token batch of queries each
            sent += 1
        return sent

    clients = [asyncio.ensure_future(client(i)) for i in range(3)]
    await asyncio.sleep(0.2)  # queries alone first: they may take all of the model
    first_bulk = len(records)
    await asyncio.wait_for(batcher.submit(rows(20, 16), "bulk"), timeout=20)  # 5 bulk batches
    during = records[first_bulk:]
    stop.set()
    assert sum(await asyncio.gather(*clients)) > 10
    await batcher.stop()
    seconds = {c: sum(r.seconds for r in during if r.work_class == c) for c in ("interactive", "bulk")}
    share = seconds["interactive"] / (seconds["interactive"] + seconds["bulk"])
    # 3 clients could keep the model busy with queries forever; the scheduler gives them ~75%
    assert 0.55 <= share <= 0.9, f"interactive share {share:.2f} while bulk waited: {seconds}"


class CountingExecutor(ThreadPoolExecutor):
    """One inference thread that counts the jobs the batcher hands it (a trip through the event loop each)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.jobs = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.jobs += 1
        return super().submit(*args, **kwargs)


class LoggedModel(TimedModel):
    """A TimedModel that logs each forward pass as it starts: (rows, first id of the first row)."""

    def __init__(self, per_token_s: float = 0.001) -> None:
        super().__init__(per_token_s)
        self.calls: list[tuple[int, int]] = []

    def __call__(self, batch: Sequence[TokenIds]) -> np.ndarray:
        self.calls.append((len(batch), batch[0][0]))
        return super().__call__(batch)


async def test_bulk_runs_in_slices_back_to_back_and_yields_to_a_query() -> None:
    # ~20 ms slices at 1 ms per token: one 16-token row each (the floor, 1/16 of 256, is 16 tokens)
    executor, model = CountingExecutor(), LoggedModel()
    limits = BatchLimits(max_batch_tokens=256, max_batch_items=64, wait_s=0.002, bulk_slice_s=0.02)
    batcher = Batcher("embed", model, executor, limits)
    records: list[BatchRecord] = []
    batcher.observers.append(records.append)
    batcher.start()
    await batcher.submit(rows(24, 16), "bulk")
    await batcher.submit(rows(24, 16), "bulk")
    assert [r.items for r in records] == [16, 8, 16, 8], "no query around: bulk keeps whole batches"
    await batcher.submit(rows(2, 16), "interactive")
    records.clear()
    executor.jobs = 0
    await batcher.submit(rows(24, 16), "bulk")  # one batch of 16 rows, one of 8
    assert [r.items for r in records] == [1] * 24, "every forward pass is one ~20 ms slice"
    assert executor.jobs <= 3, f"slices run back to back on the inference thread: {executor.jobs} jobs for 2 batches"

    model.calls.clear()
    bulk = asyncio.ensure_future(batcher.submit(rows(32, 16, 1), "bulk"))  # two 16-slice batches: ~512 ms
    while len(model.calls) < 3:
        await asyncio.sleep(0.002)
    started_before_query = len(model.calls)
    out, _ = await batcher.submit(rows(1, 8, 7), "interactive")
    assert out[0, 0] == 56
    query_at = next(i for i, (_, first) in enumerate(model.calls) if first == 7)
    bulk_rows_ahead = sum(n for n, _ in model.calls[started_before_query - 1 : query_at])
    assert bulk_rows_ahead <= 2, f"the query waited for {bulk_rows_ahead} bulk slices, not one ({model.calls})"
    result, _ = await bulk
    assert result[:, 0].tolist() == [16.0] * 32, "the slices not run before the query still ran, once each"
    await batcher.stop()
    executor.shutdown()


def test_scheduler_alone_and_contended() -> None:
    scheduler = ClassScheduler(interactive_share=0.5)
    assert scheduler.next_class({"interactive": False, "bulk": False}) is None
    assert scheduler.next_class({"interactive": False, "bulk": True}) == "bulk"
    scheduler.charge("interactive", 1.0, contended=False)  # alone: it may use all of the model
    assert scheduler.next_class({"interactive": True, "bulk": True}) == "interactive"
    scheduler.charge("interactive", 1.0, contended=True)
    assert scheduler.next_class({"interactive": True, "bulk": True}) == "bulk"
    scheduler.charge("bulk", 1.0, contended=True)
    assert scheduler.next_class({"interactive": True, "bulk": True}) == "interactive"


def test_bulk_budget() -> None:
    assert bulk_token_budget(4096, 0.1, None) == 4096
    assert bulk_token_budget(4096, 0.0, 1e-4) == 4096
    assert bulk_token_budget(4096, 0.1, 1e-4) == 1000
    assert bulk_token_budget(4096, 0.1, 1e-2) == 256, "never below 1/16 of the budget"
    assert bulk_token_budget(4096, 0.1, 1e-7) == 4096, "fast accelerators keep their budget"
