"""Start-up: warm every model up, time one realistic batch for admission, and pick the batch budget per device."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.config import Settings

if TYPE_CHECKING:
    from service.engine.engine import Engine

# MAX_BATCH_TOKENS=0: the budget per device. CPUs lose cache locality on bigger batches (16384 ran
# mixed loads 1.4x slower here); accelerators need big batches to fill their units.
_BATCH_TOKENS_BY_DEVICE = {"cpu": 4096}
_ACCELERATOR_BATCH_TOKENS = 16384
# The timed batch that seeds admission's seconds-per-token estimate.
_CALIBRATION_ROWS, _CALIBRATION_TOKENS = 4, 128
_WORDS = "the quick brown fox jumps over the lazy dog while a model reads it"


def batch_token_budget(settings: Settings, device: str) -> int:
    """MAX_BATCH_TOKENS, or the device's default when it is 0."""
    if settings.max_batch_tokens:
        return settings.max_batch_tokens
    return _BATCH_TOKENS_BY_DEVICE.get(device, _ACCELERATOR_BATCH_TOKENS)


async def warm_up(engine: Engine) -> None:
    """One tiny request through every model (the real code path), then the timed calibration batch."""
    await engine._embed_raw(["warm-up"], truncate=True, use_cache=False)  # leaves the cache and its counts alone
    if engine.scorer:
        await engine.cross_encoder_scores("warm-up", ["warm-up"])
    await _calibrate(engine)


async def _calibrate(engine: Engine) -> None:
    """A batch of realistic size per model, so admission's first estimates are measured, not guessed."""
    length = min(_CALIBRATION_TOKENS, engine.info.max_tokens)
    text = " ".join([_WORDS] * (length // 8 + 1))
    rows, _ = await engine.tokens.texts([text] * _CALIBRATION_ROWS, truncate=True, param="warm-up")
    rows = [row[:length] for row in rows]  # timing only: no need to keep the end-of-text tokens
    pairs = await engine.tokens.pairs_of(_WORDS, [text] * _CALIBRATION_ROWS, None) if engine.scorer else []
    for timed in (False, True):  # a new shape's first run builds kernels: time the second one
        if timed:
            engine.admission.forget()
        await engine.embed_batcher.submit(rows)
        if engine.score_batcher:
            await engine.score_batcher.submit(pairs)
