"""TEI /tokenize: the ids the model really sees, with each token's text and character offsets."""

from __future__ import annotations

from service.engine import Engine
from service.schemas.tei import SimpleToken


async def tokens_of(engine: Engine, text: str, add_special_tokens: bool) -> list[SimpleToken]:
    """Tokens of `text` exactly as the encoder feeds them to the model (EOS appended included)."""
    pieces = await engine.token_pieces(text, add_special_tokens=add_special_tokens)
    return [SimpleToken(id=p.id, text=p.text, special=p.special, start=p.start, stop=p.stop) for p in pieces]
