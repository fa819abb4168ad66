"""A text with nothing visible (only Cc, Cf, Zs, Zl, Zp or whitespace) is a 4xx in every dialect, like a blank one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from service.errors import InvalidInput
from service.visible import has_visible_text

INVISIBLE = ["\u0000", "\u200b\u200b", "\ufeff", "\u00ad", "\u202e\u2066", "\u2028\u2029", "\u3000\u00a0", "\x7f\t"]


def bodies(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Every place a text goes, in every dialect."""
    return [
        ("/embed", {"texts": ["fine", text]}),
        ("/rerank", {"query": text, "passages": ["fine"]}),
        ("/rerank", {"query": "fine", "passages": ["fine", text]}),
        ("/v1/embeddings", {"input": text}),
        ("/v1/embeddings", {"input": ["fine", text]}),
        ("/v1/rerank", {"query": text, "documents": ["fine"]}),
        ("/v1/rerank", {"query": "fine", "documents": [text]}),
        ("/v1/rerank", {"query": "fine", "documents": [{"text": text}]}),
        ("/v2/rerank", {"query": "fine", "documents": ["fine", text]}),
        ("/embed", {"inputs": text}),
        ("/embed", {"inputs": ["fine", text]}),
        ("/rerank", {"query": text, "texts": ["fine"]}),
        ("/rerank", {"query": "fine", "texts": [text]}),
    ]


@pytest.mark.parametrize("text", INVISIBLE, ids=[repr(t) for t in INVISIBLE])
async def test_invisible_texts_are_refused_everywhere(minilm: httpx.AsyncClient, text: str) -> None:
    for path, body in bodies(text):
        r = await minilm.post(path, json=body)
        assert 400 <= r.status_code < 500, (path, body, r.status_code, r.text)
        assert "must not be empty" in r.text or "non-empty string" in r.text, (path, body, r.text)


async def test_text_with_something_visible_still_embeds(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", json={"texts": ["\u200bword\ufeff", "\u00e9", "\u4e2d", "🙂"]})
    assert r.status_code == 200, r.text
    assert len(r.json()["vectors"]) == 4


def test_the_rule() -> None:
    assert not any(has_visible_text(t) for t in ["", *INVISIBLE])
    assert all(has_visible_text(t) for t in ["a", " a ", "\u200ba", "\ue000", "-", "\u0301"])


async def test_the_engine_refuses_them_for_every_other_caller(minilm: httpx.AsyncClient) -> None:
    """The console and Ray call the Engine directly: the same rule holds there."""
    engine = minilm.app.state.engine  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="must not be empty"):
        await engine.embed(["ok", "\u200b"])
    with pytest.raises(InvalidInput, match="must not be empty"):
        await engine.rerank("\ufeff", ["passage"])
