"""Batcher: order kept, token budget respected, OOM batches split, disconnects dropped, shutdown drains."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from service.backends.torch.encoder import load_encoder
from service.config import Settings
from service.engine.batcher import Batcher, BatchLimits
from service.errors import NotReady, ServiceError
from service.tokens.padding import TokenIds
from tests.backends.rows import encode_rows


class Recorder:
    """A deterministic model: row i → [sum(ids), len(ids)]; remembers every batch it saw."""

    def __init__(self, delay_s: float = 0.0, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay_s = delay_s
        self.gate = gate

    def __call__(self, batch: Sequence[TokenIds]) -> np.ndarray:
        if self.gate is not None:
            self.gate.wait(5)
        if self.delay_s:
            threading.Event().wait(self.delay_s)
        self.batches.append([len(ids) for ids in batch])
        return np.array([[sum(ids), len(ids)] for ids in batch], dtype=np.float32)


def limits(**overrides: float) -> BatchLimits:
    values = {"max_batch_tokens": 64, "max_batch_items": 8, "wait_s": 0.002}
    values.update(overrides)
    return BatchLimits(**values)  # type: ignore[arg-type]


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown()


async def test_concurrent_callers_get_their_own_rows_in_order(executor: ThreadPoolExecutor) -> None:
    model = Recorder(delay_s=0.002)
    batcher = Batcher("t", model, executor, limits())
    batcher.start()
    rng = random.Random(7)
    requests = [[[rng.randint(1, 9)] * rng.randint(1, 30) for _ in range(rng.randint(1, 6))] for _ in range(40)]
    results = await asyncio.gather(*(batcher.submit(rows) for rows in requests))
    for rows, (out, timings) in zip(requests, results, strict=True):
        np.testing.assert_array_equal(out, [[sum(r), len(r)] for r in rows])
        assert timings.compute_tokens == sum(len(r) for r in rows)
    for batch in model.batches:
        assert len(batch) <= 8
        assert len(batch) == 1 or len(batch) * max(batch) <= 64, f"budget exceeded: {batch}"
    assert len(model.batches) < sum(len(r) for r in requests), "items from several requests share batches"
    await batcher.stop()


async def test_batches_are_sorted_by_length(executor: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    model = Recorder(gate=gate)
    batcher = Batcher("t", model, executor, limits(max_batch_tokens=1000, max_batch_items=3))
    batcher.start()
    first = asyncio.ensure_future(batcher.submit([[1]]))  # occupies the worker
    await asyncio.sleep(0.02)
    rest = asyncio.ensure_future(batcher.submit([[1] * n for n in (9, 2, 7, 1, 8, 3)]))
    await asyncio.sleep(0.02)
    gate.set()
    await first
    out, _ = await rest
    assert [int(x) for x in out[:, 1]] == [9, 2, 7, 1, 8, 3]
    assert model.batches[1:] == [[1, 2, 3], [7, 8, 9]]
    await batcher.stop()


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError, which is what the batcher recognises."""


class SmallDevice(Recorder):
    """A device that runs out of memory on batches of more than `capacity` rows."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.refused: list[int] = []

    def __call__(self, batch: Sequence[TokenIds]) -> np.ndarray:
        if len(batch) > self.capacity:
            self.refused.append(len(batch))
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().__call__(batch)


async def test_out_of_memory_batch_is_split_and_every_row_answered(executor: ThreadPoolExecutor) -> None:
    model = SmallDevice(capacity=2)
    batcher = Batcher("t", model, executor, limits(max_batch_items=8))
    batcher.start()
    rows = [[i + 1] * (i + 1) for i in range(7)]
    out, _ = await batcher.submit(rows)
    np.testing.assert_array_equal(out, [[sum(r), len(r)] for r in rows])
    assert model.refused and max(len(b) for b in model.batches) <= 2
    assert batcher.stats.oom_splits == len(model.refused) and batcher.stats.failures == 0
    await batcher.stop()


async def test_a_single_row_too_big_for_the_device_fails_alone(executor: ThreadPoolExecutor) -> None:
    batcher = Batcher("t", SmallDevice(capacity=0), executor, limits())
    batcher.start()
    with pytest.raises(ServiceError):
        await batcher.submit([[1, 2]])
    assert batcher.stats.failures == 1 and batcher.stats.oom_splits == 0
    await batcher.stop()


async def test_cancelled_request_items_are_dropped(executor: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    model = Recorder(gate=gate)
    batcher = Batcher("t", model, executor, limits())
    batcher.start()
    busy = asyncio.ensure_future(batcher.submit([[5]]))
    await asyncio.sleep(0.01)
    gone = asyncio.ensure_future(batcher.submit([[7, 7], [7, 7, 7]]))  # a client that disconnects
    await asyncio.sleep(0.01)
    gone.cancel()
    gate.set()
    await busy
    out, _ = await batcher.submit([[2]])
    assert out[0, 0] == 2
    assert batcher.stats.dropped_items == 2 and batcher.queued_tokens == 0
    assert model.batches == [[1], [1]], "the cancelled rows (lengths 2 and 3) never reached the model"
    await batcher.stop()


async def test_stop_drains_queued_work_then_refuses(executor: ThreadPoolExecutor) -> None:
    batcher = Batcher("t", Recorder(delay_s=0.05), executor, limits())
    batcher.start()
    pending = [asyncio.ensure_future(batcher.submit([[i] * 3])) for i in range(1, 5)]
    await asyncio.sleep(0.005)
    await batcher.stop(drain_timeout_s=5)
    outs = [(await p)[0] for p in pending]
    assert [float(o[0, 0]) for o in outs] == [3.0, 6.0, 9.0, 12.0]
    with pytest.raises(NotReady):
        await batcher.submit([[1]])


async def test_real_model_batched_equals_one_by_one(executor: ThreadPoolExecutor) -> None:
    encoder = load_encoder(Settings())
    batcher = Batcher(
        "embed", lambda rows: encode_rows(encoder, rows), executor, limits(max_batch_tokens=2048, max_batch_items=16)
    )
    batcher.start()
    rng = random.Random(3)
    words = [
        "vector",
        "search",
        "rerank",
        "local",
        "model",
        "qdrant",
        "embedding",
        "passage",
        "query",
        "fast",
        "server",
    ]
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 60))) for _ in range(30)]
    ids = encoder.text.tokenize(texts)
    chunks = [ids[i : i + 4] for i in range(0, len(ids), 4)]
    results = await asyncio.gather(*(batcher.submit(chunk) for chunk in chunks))
    batched = np.concatenate([out for out, _ in results])
    single = np.concatenate([encode_rows(encoder, [row]) for row in ids])
    np.testing.assert_allclose(batched, single, atol=2e-5)
    assert batcher.stats.batches < len(texts)
    await batcher.stop()


def test_fifo_order_keeps_arrival_order_under_the_same_budget() -> None:
    from service.engine.batcher import _Item, cut_batches

    loop = asyncio.new_event_loop()
    try:
        lengths = [3, 30, 2, 2, 20, 9, 1, 40]
        items = [_Item(ids=[1] * n, future=loop.create_future()) for n in lengths]
        fifo = cut_batches(items, limits(max_batch_tokens=64, max_batch_items=8, sort_by_length=False))
        by_length = cut_batches(items, limits(max_batch_tokens=64, max_batch_items=8))
    finally:
        loop.close()
    fifo_lengths = [[len(i.ids) for i in batch] for batch in fifo]
    assert [n for batch in fifo_lengths for n in batch] == lengths, "arrival order kept"
    assert fifo_lengths == [[3, 30], [2, 2, 20], [9, 1], [40]]  # cut when (items x longest) would pass 64
    assert all(len(b) * max(b) <= 64 for b in fifo_lengths)
    sorted_lengths = [[len(i.ids) for i in batch] for batch in by_length]
    assert sorted_lengths == [[1, 2, 2, 3, 9], [20, 30], [40]]
    padded = sum(len(b) * max(b) for b in sorted_lengths)
    assert padded < sum(len(b) * max(b) for b in fifo_lengths), "length order pads less"


async def test_a_lone_sequential_caller_never_waits_for_company(executor: ThreadPoolExecutor) -> None:
    batcher = Batcher("t", Recorder(), executor, limits(wait_s=1.0))
    batcher.start()
    for i in range(5):  # each request comes right after the last answer: inside the busy window
        started = time.perf_counter()
        await batcher.submit([[i + 1]])
        assert time.perf_counter() - started < 0.5, "a single caller waited for company that never comes"
    await batcher.stop()


async def test_after_a_busy_round_the_batcher_regathers_its_callers(executor: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    model = Recorder(gate=gate)
    batcher = Batcher("t", model, executor, limits(wait_s=1.0))
    batcher.start()
    first = asyncio.ensure_future(batcher.submit([[9]]))  # occupies the worker while 4 callers queue
    await asyncio.sleep(0.02)

    async def caller(i: int) -> float:
        await batcher.submit([[i]])  # round 2: all four together
        await asyncio.sleep(0.01 * i)  # they come back one by one, 10 ms apart
        await batcher.submit([[i, i]])
        return time.perf_counter()

    callers = asyncio.gather(*(caller(i) for i in range(4)))
    await asyncio.sleep(0.02)
    gate.set()
    await first
    round2_end = time.perf_counter()
    finished = await callers
    assert model.batches[1] == [1, 1, 1, 1]
    assert model.batches[2:] == [[2, 2, 2, 2]], "the four returning callers share one batch"
    assert max(finished) - round2_end < 0.6, "dispatched when the last caller was back, not after wait_s"
    await batcher.stop()


async def test_after_a_long_round_the_wait_stretches_to_regather_callers(executor: ThreadPoolExecutor) -> None:
    # wait_s is 1 ms, but the last round took 0.4 s: callers coming back over 15 ms still share a batch
    gate = threading.Event()
    model = Recorder(delay_s=0.4, gate=gate)
    batcher = Batcher("t", model, executor, limits(wait_s=0.001))
    batcher.start()
    first = asyncio.ensure_future(batcher.submit([[9]]))  # holds the worker while four callers queue
    await asyncio.sleep(0.02)

    async def caller(i: int) -> None:
        await batcher.submit([[i]])  # round 2: the four together, 0.4 s long
        await asyncio.sleep(0.005 * i)  # back one by one, 5 ms apart
        await batcher.submit([[i, i]])

    callers = asyncio.gather(*(caller(i) for i in range(4)))
    await asyncio.sleep(0.02)
    gate.set()
    await first
    await callers
    assert model.batches[1:] == [[1, 1, 1, 1], [2, 2, 2, 2]], model.batches
    await batcher.stop()
