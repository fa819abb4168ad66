"""TEI /tokenize: the ids the model really sees, with each token's text and character offsets."""

from __future__ import annotations

from typing import Any

from service.engine import Engine
from service.errors import FeatureUnavailable
from service.schemas.tei import SimpleToken

Span = tuple[int, int] | None


def tokens_of(engine: Engine, text: str, add_special_tokens: bool) -> list[SimpleToken]:
    """Tokens of `text` exactly as the encoder feeds them to the model (EOS appended included)."""
    tokenizer: Any = getattr(engine.encoder, "tokenizer", None)
    if tokenizer is None or not hasattr(tokenizer, "convert_ids_to_tokens"):
        raise FeatureUnavailable(f"/tokenize needs a Hugging Face tokenizer; backend {engine.info.backend} has none")
    ids = engine.encoder.tokenize([text])[0]
    special_ids = set(tokenizer.all_special_ids)
    spans = _spans(tokenizer, text, ids)
    tokens = []
    for token_id, span in zip(ids, spans, strict=True):
        if token_id in special_ids:
            if add_special_tokens:
                piece = tokenizer.convert_ids_to_tokens(token_id)
                tokens.append(SimpleToken(id=token_id, text=piece, special=True, start=None, stop=None))
            continue
        start, stop = span or (None, None)
        piece = text[start:stop] if span else tokenizer.decode([token_id])
        tokens.append(SimpleToken(id=token_id, text=piece, special=False, start=start, stop=stop))
    return tokens


def _spans(tokenizer: Any, text: str, ids: list[int]) -> list[Span]:
    """Character offsets from a fast tokenizer, for the prefix of `ids` it reproduces (None elsewhere)."""
    if not getattr(tokenizer, "is_fast", False):
        return [None] * len(ids)
    encoding = tokenizer(text, return_offsets_mapping=True, truncation=False, verbose=False)
    own_ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
    if own_ids != ids[: len(own_ids)]:
        return [None] * len(ids)
    spans: list[Span] = [(int(a), int(b)) for a, b in offsets]
    return spans + [None] * (len(ids) - len(spans))
