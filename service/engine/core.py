"""The core stage: one inference thread and a batcher per model; padding and forward passes happen here."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Encoder, Scorer
from service.config import Settings
from service.engine.batch_records import BatchObserver
from service.engine.batcher import Batcher
from service.engine.cutting import BatchLimits
from service.engine.memory import HeapTrimmer, heap_trim_function
from service.tokens.padding import TokenIds, pad_batch

# MAX_BATCH_TOKENS=0: the budget per device. CPUs lose cache locality on bigger batches (16384 ran
# mixed loads 1.4x slower here); accelerators need big batches to fill their units.
_BATCH_TOKENS_BY_DEVICE = {"cpu": 4096}
_ACCELERATOR_BATCH_TOKENS = 16384


def batch_token_budget(settings: Settings, device: str) -> int:
    """MAX_BATCH_TOKENS, or the device's default when it is 0."""
    if settings.max_batch_tokens:
        return settings.max_batch_tokens
    return _BATCH_TOKENS_BY_DEVICE.get(device, _ACCELERATOR_BATCH_TOKENS)


class Core:
    """Owns the inference thread and the batchers that feed it."""

    def __init__(self, encoder: Encoder, scorer: Scorer | None, settings: Settings) -> None:
        self.encoder = encoder
        self.scorer = scorer
        # One inference thread: the model is one device; two threads would only fight over it.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self.limits = BatchLimits(
            max_batch_tokens=batch_token_budget(settings, encoder.info.device),
            max_batch_items=settings.max_batch_items,
            wait_s=settings.batch_wait_ms / 1000,
            sort_by_length=settings.batch_order == "length",
            interactive_share=settings.interactive_share,
            bulk_slice_s=settings.bulk_slice_ms / 1000 if settings.work_classes else 0.0,
        )
        self.embed_batcher = Batcher("embed", self._encode_rows, self.executor, self.limits)
        self.score_batcher = Batcher("score", self._score_rows, self.executor, self.limits) if scorer else None
        self.heap_trimmer = HeapTrimmer(self.executor, settings.memory_trim_idle_s, heap_trim_function())
        self.add_batch_observer(self.heap_trimmer.observe)

    # Padding happens here, on the inference thread, in one place for every backend.
    def _encode_rows(self, rows: Sequence[TokenIds]) -> NDArray[np.float32]:
        text = self.encoder.text
        return self.encoder.encode(pad_batch(rows, text.pad_id, text.padding_side))

    def _score_rows(self, rows: Sequence[TokenIds]) -> NDArray[np.float32]:
        assert self.scorer is not None
        pairs = self.scorer.pairs
        return self.scorer.score(pad_batch(rows, pairs.pad_id, pairs.padding_side))

    @property
    def batchers(self) -> list[Batcher]:
        return [self.embed_batcher] + ([self.score_batcher] if self.score_batcher else [])

    def add_batch_observer(self, observer: BatchObserver) -> None:
        for batcher in self.batchers:
            batcher.observers.append(observer)

    def start(self) -> None:
        for batcher in self.batchers:
            batcher.start()
        self.heap_trimmer.start()

    async def stop(self, drain_timeout_s: float) -> None:
        """Drain queued work, then release the inference thread."""
        await self.heap_trimmer.stop()
        for batcher in self.batchers:
            await batcher.stop(drain_timeout_s)
        self.executor.shutdown(wait=True)
