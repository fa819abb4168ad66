"""The heap trimmer: glibc's malloc_trim once the inference thread is idle after enough work, never while busy."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from service.engine.batch_records import BatchRecord
from service.engine.memory import MIN_TOKENS_BETWEEN_TRIMS, HeapTrimmer, heap_trim_function


def batch(padded_tokens: int) -> BatchRecord:
    return BatchRecord("embed", items=1, tokens=padded_tokens, padded_tokens=padded_tokens, seconds=0.01, failed=False)


def test_glibc_has_malloc_trim() -> None:
    trim = heap_trim_function()
    assert trim is not None  # these machines run glibc; a None here would silently disable the trim
    trim()


async def test_trims_once_after_a_burst_then_idle_on_the_inference_thread() -> None:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
    real_trim = heap_trim_function()
    assert real_trim is not None
    threads: list[str] = []

    def trim() -> None:
        threads.append(threading.current_thread().name)
        real_trim()

    trimmer = HeapTrimmer(executor, idle_s=0.2, trim=trim)
    trimmer.start()
    try:
        # Busy: batches keep coming, so no trim even though the work passes the threshold.
        for _ in range(10):
            trimmer.observe(batch(MIN_TOKENS_BETWEEN_TRIMS))
            await asyncio.sleep(0.05)
        assert trimmer.trims == 0
        await asyncio.sleep(0.5)  # idle now: one trim
        assert trimmer.trims == 1 and threads[0].startswith("inference")
        trimmer.observe(batch(MIN_TOKENS_BETWEEN_TRIMS // 4))  # a small query: not worth a trim
        await asyncio.sleep(0.5)
        assert trimmer.trims == 1
    finally:
        await trimmer.stop()
        executor.shutdown()


def test_zero_turns_it_off() -> None:
    trimmer = HeapTrimmer(ThreadPoolExecutor(max_workers=1), idle_s=0.0, trim=heap_trim_function())
    assert not trimmer.enabled
