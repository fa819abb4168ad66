"""Fast checks of the filter's branches on a stand-in Open WebUI; the authority is test_real_open_webui.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.security import HTTPAuthorizationCredentials
from owui_harness import (
    FUNCTION_FILE,
    USER_TOKEN,
    StandIn,
    embedrank_server,
    free_port,
    load_like_open_webui,
    run_inlet,
    serve_stand_in,
)
from starlette.requests import Request

pytestmark = pytest.mark.slow

EMBEDRANK_KEY = "test-embedrank-key"
QUERY = "How many days do customers have to return an item?"
RETURNS = "Customers may return unused items within 30 days of delivery for a full refund."
REFUNDS = "Refunds are issued to the original payment method within 5 business days."
OFFICE = "Our office is closed on public holidays."
CAFETERIA = "The cafeteria serves lunch from noon until 2 pm."
SHIPPING = "Standard shipping takes 3 to 5 business days."
POLICY = {"source": "returns-policy.md", "name": "returns-policy.md", "file_id": "f1"}
HANDBOOK = {"source": "handbook.pdf", "name": "handbook.pdf", "page": 3}
# Vector scores put the relevant passages last, so only a real rerank brings them to the top.
CORPUS = {
    "file-f1": [(OFFICE, POLICY, 0.61), (RETURNS, POLICY, 0.42)],
    "kb1": [(CAFETERIA, HANDBOOK, 0.58), (SHIPPING, HANDBOOK, 0.55), (REFUNDS, HANDBOOK, 0.40)],
}
OPEN_WEBUI_ORDER = [OFFICE, CAFETERIA, SHIPPING, RETURNS, REFUNDS]
FILES = [
    {"type": "file", "id": "f1", "name": "returns-policy.md", "status": "uploaded"},
    {"type": "collection", "id": "kb1", "name": "Company handbook"},
]


@pytest.fixture(scope="session")
def embedrank_url() -> Iterator[str]:
    # API_KEY on: every call the filter makes must carry the key from its valve.
    with embedrank_server({"API_KEY": EMBEDRANK_KEY, "UI_ENABLED": "false"}) as url:
        yield url


@pytest.fixture(scope="session")
def open_webui() -> Iterator[StandIn]:
    with serve_stand_in(StandIn(CORPUS)) as stand_in:
        yield stand_in


def make_request(base_url: str, *, state_token: bool = True) -> Request:
    """The chat request Open WebUI hands filters as __request__ (a real starlette Request)."""
    host, port = base_url.removeprefix("http://").split(":")
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/chat/completions",
        "scheme": "http",
        "server": (host, int(port)),
        "headers": [
            (b"host", f"{host}:{port}".encode()),
            (b"authorization", f"Bearer {USER_TOKEN}".encode()),
        ],
        "query_string": b"",
    }
    request = Request(scope)
    if state_token:
        request.state.token = HTTPAuthorizationCredentials(scheme="Bearer", credentials=USER_TOKEN)
    return request


def chat_body(files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    chosen = FILES if files is None else files
    return {
        "model": "llama3",
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {"role": "user", "content": QUERY},
        ],
        "files": [dict(f) for f in chosen],
        "metadata": {"chat_id": "c1", "message_id": "m1", "files": [dict(f) for f in chosen]},
    }


async def run(
    valves: dict[str, Any], body: dict[str, Any] | None = None, request: Request | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    content = FUNCTION_FILE.read_text(encoding="utf-8")
    instance, kind, _ = load_like_open_webui(content, "embedrank_reranker")
    assert kind == "filter"
    events: list[dict[str, Any]] = []

    async def emitter(event: dict[str, Any]) -> None:
        events.append(event)

    extra = {
        "__event_emitter__": emitter,
        "__event_call__": None,
        "__user__": {"id": "u1", "name": "Ada", "email": "ada@example.com", "role": "user"},
        "__metadata__": {"chat_id": "c1", "message_id": "m1"},
        "__request__": request,
        "__model__": {"id": "llama3"},
        "__chat_id__": "c1",
        "__message_id__": "m1",
    }
    out = await run_inlet(instance, body or chat_body(), extra, valves)
    return out, events


def statuses(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == "status"]


def injected_texts(user_content: str) -> list[str]:
    return [part.split(">", 1)[1].split("</source>")[0] for part in user_content.split("<source ")[1:]]


def base_valves(embedrank_url: str, open_webui: StandIn, **more: Any) -> dict[str, Any]:
    return {
        "embedrank_url": embedrank_url,
        "embedrank_api_key": EMBEDRANK_KEY,
        "openwebui_url": open_webui.url,
        "top_k": 2,
        **more,
    }


async def test_reranks_through_v1_rerank_and_injects_sources(embedrank_url: str, open_webui: StandIn) -> None:
    open_webui.requests.clear()
    body, events = await run(base_valves(embedrank_url, open_webui), request=make_request(open_webui.url))

    user = body["messages"][-1]["content"]
    assert injected_texts(user) == [RETURNS, REFUNDS]
    assert '<source id="1" name="Company handbook"' not in user
    assert f'<source id="1" name="returns-policy.md">{RETURNS}</source>' in user
    assert f'<source id="2" name="Company handbook">{REFUNDS}</source>' in user
    assert "<context>" in user and user.rstrip().endswith(QUERY)
    assert body["messages"][0] == {"role": "system", "content": "You are helpful."}
    # Open WebUI drops the files after our inlet (file_handler), so its own RAG does not run again.
    assert "files" not in body and "files" not in body["metadata"]

    sent = sorted((r["form"]["collection_name"], r["form"]["k"], r["form"]["hybrid"]) for r in open_webui.requests)
    assert sent == [("file-f1", 20, False), ("kb1", 20, False)]
    assert {r["authorization"] for r in open_webui.requests} == {f"Bearer {USER_TOKEN}"}

    steps = statuses(events)
    assert [s["done"] for s in steps] == [False, False, True]
    assert "Reranked 5 passages with embedrank" in steps[-1]["description"]
    sources = [e["data"] for e in events if e["type"] == "source"]
    assert [s["source"]["name"] for s in sources] == ["returns-policy.md", "Company handbook"]
    assert sources[0]["document"] == [RETURNS] and sources[1]["document"] == [REFUNDS]
    assert sources[0]["metadata"][0]["source"] == "returns-policy.md"
    scores = [s["distances"][0] for s in sources]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= x <= 1.0 for x in scores)


async def test_native_rerank_api_gives_the_same_winners(embedrank_url: str, open_webui: StandIn) -> None:
    valves = base_valves(embedrank_url, open_webui, rerank_api="native")
    body, events = await run(valves, request=make_request(open_webui.url))
    assert injected_texts(body["messages"][-1]["content"]) == [RETURNS, REFUNDS]
    assert "Reranked" in statuses(events)[-1]["description"]


async def test_falls_back_to_open_webui_order_when_embedrank_is_down(open_webui: StandIn) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    valves = base_valves(dead, open_webui, top_k=3)
    body, events = await run(valves, request=make_request(open_webui.url))

    assert injected_texts(body["messages"][-1]["content"]) == OPEN_WEBUI_ORDER[:3]
    last = statuses(events)[-1]
    assert last["done"] is True
    assert "embedrank unavailable (connection refused)" in last["description"]
    assert "Open WebUI's order" in last["description"]
    sources = [e["data"] for e in events if e["type"] == "source"]
    assert sources[0]["distances"] == [0.61]


async def test_falls_back_when_embedrank_answers_an_error(open_webui: StandIn) -> None:
    # The stand-in has no /v1/rerank: a 404 must read as "unavailable", not break the chat.
    body, events = await run(base_valves(open_webui.url, open_webui), request=make_request(open_webui.url))
    assert injected_texts(body["messages"][-1]["content"]) == OPEN_WEBUI_ORDER[:2]
    assert "HTTP 404 from /v1/rerank" in statuses(events)[-1]["description"]


async def test_wrong_embedrank_key_falls_back(embedrank_url: str, open_webui: StandIn) -> None:
    valves = base_valves(embedrank_url, open_webui, embedrank_api_key="wrong")
    body, events = await run(valves, request=make_request(open_webui.url))
    assert injected_texts(body["messages"][-1]["content"]) == OPEN_WEBUI_ORDER[:2]
    assert "embedrank unavailable (HTTP 401 from /v1/rerank)" in statuses(events)[-1]["description"]


async def test_threshold_can_reject_everything(embedrank_url: str, open_webui: StandIn) -> None:
    valves = base_valves(embedrank_url, open_webui, score_threshold=0.999)
    body, events = await run(valves, request=make_request(open_webui.url))
    assert body["messages"][-1]["content"] == QUERY
    assert "none scored above 0.999" in statuses(events)[-1]["description"]
    assert not [e for e in events if e["type"] == "source"]


async def test_retrieval_api_down_leaves_the_chat_working(embedrank_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    body, events = await run({"embedrank_url": embedrank_url, "openwebui_url": dead})
    assert body["messages"][-1]["content"] == QUERY
    last = statuses(events)[-1]
    assert last["done"] is True and "No passages retrieved (connection refused)" in last["description"]


async def test_token_from_header_and_url_from_request(embedrank_url: str, open_webui: StandIn) -> None:
    # No state.token and no configured Open WebUI URL: both come from the chat request itself.
    request = make_request(open_webui.url, state_token=False)
    valves = base_valves(embedrank_url, open_webui, openwebui_url="", top_k=1)
    body, _ = await run(valves, request=request)
    assert injected_texts(body["messages"][-1]["content"]) == [RETURNS]


async def test_wrong_user_token_is_reported(embedrank_url: str, open_webui: StandIn) -> None:
    valves = {
        "embedrank_url": embedrank_url,
        "openwebui_url": open_webui.url,
        "openwebui_api_key": "sk-wrong",
    }
    body, events = await run(valves, request=None)
    assert body["messages"][-1]["content"] == QUERY
    assert "HTTP 401" in statuses(events)[-1]["description"]


async def test_inline_text_and_system_injection(embedrank_url: str, open_webui: StandIn) -> None:
    note = {
        "type": "text",
        "id": "t1",
        "name": "pasted note",
        "content": "Returns need the original receipt.",
    }
    valves = base_valves(embedrank_url, open_webui, inject_into="system", top_k=3)
    body, _ = await run(valves, chat_body([*FILES, note]), request=make_request(open_webui.url))
    system = body["messages"][0]["content"]
    assert system.startswith("You are helpful.") and "<context>" in system
    assert injected_texts(system)[0] == RETURNS
    assert "Returns need the original receipt." in system
    assert body["messages"][-1]["content"] == QUERY


async def test_no_files_means_no_work(embedrank_url: str) -> None:
    body, events = await run({"embedrank_url": embedrank_url}, chat_body([]))
    assert body["messages"][-1]["content"] == QUERY and events == []
