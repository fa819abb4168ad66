"""The class scheduler with the real batcher: a query jumps the bulk round, bulk keeps its share, bulk is sliced."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

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


async def test_bulk_batches_are_sliced_to_the_measured_time(executor: ThreadPoolExecutor) -> None:
    # ~20 tokens at 1 ms per token (the floor, 1/16 of 256, is 16 tokens)
    batcher, records = batcher_with(executor, bulk_slice_s=0.02, max_batch_tokens=256)
    await batcher.submit(rows(24, 16), "bulk")
    alone = [r.items for r in records]
    assert alone == [16, 8], "bulk alone keeps the full 256-token budget (no query around)"
    await batcher.submit(rows(4, 16), "interactive")
    assert records[-1].items == 4, "queries keep the full budget"
    await batcher.submit(rows(6, 16), "bulk")
    await batcher.stop()
    sliced = [r.items for r in records[3:]]
    assert sliced == [1] * 6, f"with a query around: one 16-token row per ~20 ms slice: {sliced}"


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
