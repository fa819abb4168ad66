"""Start-up: warm every model up through the pipeline, and time one realistic batch each for admission."""

from __future__ import annotations

from service.engine.core import batch_token_budget
from service.engine.pipeline import Pipeline

# The timed batch that seeds admission's seconds-per-token estimate.
_CALIBRATION_ROWS, _CALIBRATION_TOKENS = 4, 128
_WORDS = "the quick brown fox jumps over the lazy dog while a model reads it"


async def warm_up(pipeline: Pipeline) -> None:
    """One tiny request through every model (the real code path), then the timed calibration batch."""
    # use_cache=False leaves the cache and its counts alone; bulk, so no query seems to be around (no slicing)
    await pipeline.embed_formatted(["warm-up"], truncate=True, work_class="bulk", use_cache=False)
    if pipeline.scorer_info is not None:
        await pipeline.cross_encoder_scores("warm-up", ["warm-up"], work_class="bulk")
    await _calibrate(pipeline)


async def _calibrate(pipeline: Pipeline) -> None:
    """A batch of realistic size per model, so admission's first estimates are measured, not guessed."""
    tokens, core = pipeline.pre.tokens, pipeline.core
    length = min(_CALIBRATION_TOKENS, pipeline.info.max_tokens)
    text = " ".join([_WORDS] * (length // 8 + 1))
    rows, _ = await tokens.texts([text] * _CALIBRATION_ROWS, truncate=True, param="warm-up")
    rows = [row[:length] for row in rows]  # timing only: no need to keep the end-of-text tokens
    pairs = await tokens.pairs_of(_WORDS, [text] * _CALIBRATION_ROWS, None) if core.score_batcher else []
    for timed in (False, True):  # a new shape's first run builds kernels: time the second one
        if timed:
            pipeline.pre.admission.forget()
        await core.embed_batcher.submit(rows)
        if core.score_batcher:
            await core.score_batcher.submit(pairs)


__all__ = ["batch_token_budget", "warm_up"]
