"""First contact: another dialect's field names, empty texts and GET / get answers that say what to do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import AppClient


def message(r: httpx.Response) -> str:
    """The error text in any of our dialects' bodies."""
    body = r.json()
    if isinstance(body.get("error"), dict):
        return str(body["error"]["message"])
    return str(body.get("error") or body.get("message") or body.get("detail"))


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/embed", {"input": ["hi"]}, ["`input` is the field of POST /v1/embeddings", "send `texts` or `inputs`"]),
        ("/embed", {"text": "hi"}, ["did you mean `texts`?"]),
        ("/rerank", {"query": "q", "document": ["a"]}, ["did you mean `documents`?"]),
        ("/embed", {"documents": ["a"]}, ["`documents` is the field of POST /v1/rerank", "on /embed send `texts`"]),
        ("/v1/embeddings", {"texts": ["hi"]}, ["unknown field `texts` (did you mean `input`?)", "POST /embed"]),
        ("/v1/rerank", {"query": "q", "passages": ["a"]}, ["did you mean `documents`?", "POST /rerank (native"]),
    ],
)
async def test_another_dialects_field_names_the_right_one(
    minilm: httpx.AsyncClient, path: str, body: dict[str, Any], says: list[str]
) -> None:
    r = await minilm.post(path, json=body)
    assert r.status_code in (400, 422), r.text
    assert all(fragment in message(r) for fragment in says), message(r)
    assert "Extra inputs are not permitted" not in message(r)


BLANK = "must not be empty or only whitespace"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/embed", {"texts": ["ok", " "]}, "texts[1]"),
        ("/embed", {"inputs": ""}, "inputs"),
        ("/embed", {"inputs": ["ok", ""]}, "inputs"),
        ("/v1/embeddings", {"input": ""}, "input"),
        ("/v1/embeddings", {"input": ["ok", "\n"]}, "input: item 1"),
        ("/rerank", {"query": "", "passages": ["a"]}, "query"),
        ("/rerank", {"query": "q", "passages": ["a", ""]}, "passages[1]"),
        ("/rerank", {"query": " ", "texts": ["a"]}, "query"),
        ("/rerank", {"query": "q", "texts": [""]}, "texts[0]"),
        ("/v1/rerank", {"query": "", "documents": ["a"]}, "query"),
        ("/v2/rerank", {"query": "q", "documents": ["a", {"text": " "}]}, "documents: item 1"),
    ],
)
async def test_empty_text_is_a_4xx_in_every_dialect(
    minilm: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    r = await minilm.post(path, json=body)
    assert r.status_code in (400, 422), r.text
    text = message(r)
    assert text.startswith(field) and ("empty" in text), text


async def test_errors_never_show_pydantic_internals(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/v1/rerank", json={"query": "q", "documents": [{"title": "no text"}, 3]})
    assert r.status_code == 400
    text = message(r)
    assert text.startswith("documents: item 0") and "Document" not in text and ".str" not in text, text
    assert r.json()["param"] == "documents"


async def test_limits_name_the_callers_fields(app_client: AppClient) -> None:
    async with app_client(MAX_PASSAGES_PER_RERANK=2, MAX_CHARS_PER_ITEM=50, UI_ENABLED=False) as client:
        r = await client.post("/v1/rerank", json={"query": "q", "documents": ["a", "b", "c"]})
        assert r.status_code == 413 and message(r).startswith("documents has 3 items"), r.text
        r = await client.post("/v1/rerank", json={"query": "q" * 51, "documents": ["a"]})
        assert r.status_code == 413 and message(r).startswith("query has 51 characters"), r.text
        r = await client.post("/rerank", json={"query": "q" * 51, "passages": ["a"]})
        assert r.status_code == 413 and message(r).startswith("query has 51 characters"), r.text


@pytest.mark.parametrize(("ui", "target"), [(True, "/ui/"), (False, "/docs")])
async def test_root_redirects_to_the_console_or_the_docs(app_client: AppClient, ui: bool, target: str) -> None:
    async with app_client(UI_ENABLED=ui, API_KEY="k") as client:
        r = await client.get("/")
        assert r.status_code == 307 and r.headers["location"] == target
        assert (await client.get(target, headers={"Authorization": "Bearer k"})).status_code == 200
