"""truncate=START (Cohere): a text too long for the model loses its beginning instead of its end."""

from __future__ import annotations

from collections.abc import Sequence

from service.engine import Engine
from service.engine.prompts import InputType
from service.errors import InputTooLarge

_TRIES = 4  # re-tokenising a cut text can add a token at the new edge; each try drops a little more


async def keep_ends(engine: Engine, texts: Sequence[str], input_type: InputType) -> list[str]:
    """Each text, cut from the front at a token boundary until it fits the model with its prompt."""
    limit = engine.info.max_tokens
    out = list(texts)
    totals = await engine.count_tokens([engine.prompts.format(text, input_type) for text in texts])
    for i, total in enumerate(totals):
        for attempt in range(_TRIES + 1):
            if attempt:
                (total,) = await engine.count_tokens([engine.prompts.format(out[i], input_type)])
            if total <= limit:
                break
            if attempt == _TRIES:
                raise InputTooLarge(f"texts[{i}] could not be cut to {limit} tokens from the start", param="texts")
            pieces = [p for p in await engine.token_pieces(out[i], add_special_tokens=False) if p.start is not None]
            keep = limit - (total - len(pieces)) - attempt  # total - pieces: the prompt's and special tokens
            if keep <= 0:
                raise InputTooLarge(f"texts[{i}]: the prompt alone fills the model's {limit} tokens", param="texts")
            start = pieces[-keep].start
            assert start is not None
            out[i] = out[i][start:]
    return out
