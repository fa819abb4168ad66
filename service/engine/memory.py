"""Gives the heap back to the OS when the inference thread goes idle after large batches (glibc's malloc_trim)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from service.engine.batch_records import BatchRecord

logger = logging.getLogger(__name__)

# One CPU batch worth of padded tokens: below this, a burst has not grown the heap enough to be worth a trim.
MIN_TOKENS_BETWEEN_TRIMS = 4096


def heap_trim_function() -> Callable[[], None] | None:
    """glibc's `malloc_trim(0)`, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int

    def trim_heap() -> None:
        trim(0)

    return trim_heap


class HeapTrimmer:
    """After a burst, activations of big batches stay in glibc's free lists: RSS measured 574 MB idle, 810 MB
    after 6 x 64 passages, and stayed there; one malloc_trim (~40 ms) brought it to 582 MB. So once no batch
    has run for `idle_s` after at least MIN_TOKENS_BETWEEN_TRIMS padded tokens, trim once, on the inference
    thread (never beside a forward pass)."""

    def __init__(self, executor: Executor, idle_s: float, trim: Callable[[], None] | None) -> None:
        self.executor, self.idle_s, self.trim = executor, idle_s, trim
        self.tokens_since_trim = 0
        self.last_batch_at = time.monotonic()
        self.trims = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.idle_s > 0 and self.trim is not None

    def observe(self, record: BatchRecord) -> None:
        """A batch observer: counts the work since the last trim."""
        self.tokens_since_trim += record.padded_tokens
        self.last_batch_at = time.monotonic()

    def start(self) -> None:
        if self.enabled:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="heap-trimmer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        assert self.trim is not None
        while True:
            await asyncio.sleep(self.idle_s / 2)
            idle = time.monotonic() - self.last_batch_at >= self.idle_s
            if idle and self.tokens_since_trim >= MIN_TOKENS_BETWEEN_TRIMS:
                self.tokens_since_trim = 0
                try:
                    await asyncio.get_running_loop().run_in_executor(self.executor, self.trim)
                except RuntimeError:  # the executor is shutting down: nothing left to trim for
                    return
                self.trims += 1
                logger.debug("heap trimmed after an idle %.1fs", self.idle_s)
