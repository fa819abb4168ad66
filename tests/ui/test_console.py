"""The console as mounted: Blocks built without launching, /ui served, Gradio's queue on the server loop, login."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import gradio as gr
import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from tests.conftest import AppClient
from ui.bridge import EngineBridge
from ui.console import build_console
from ui.handlers import ConsoleHandlers
from ui.search import SearchHandlers


def test_blocks_build_without_launching() -> None:
    bridge = EngineBridge(FastAPI())
    blocks = build_console(ConsoleHandlers(bridge, Settings()), SearchHandlers(bridge))
    assert isinstance(blocks, gr.Blocks) and not blocks.is_running
    config = blocks.get_config_file()
    tabs = [c["props"]["label"] for c in config["components"] if c["type"] == "tabitem"]
    assert tabs == ["Embed", "Rerank", "Search", "Status"]
    api_names = {d["api_name"] for d in config["dependencies"] if d.get("api_visibility") == "public"}
    assert {"embed", "rerank", "search", "status"} <= api_names


async def gradio_call(client: httpx.AsyncClient, api_name: str, data: list[Any]) -> tuple[str, Any]:
    """Run one event through Gradio's queue over HTTP, as the browser does; (event, payload)."""
    started = await client.post(f"/ui/gradio_api/call/{api_name}", json={"data": data})
    assert started.status_code == 200, started.text
    event_id = started.json()["event_id"]
    stream = await client.get(f"/ui/gradio_api/call/{api_name}/{event_id}")
    event, payload = "", None
    for line in stream.text.splitlines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            payload = json.loads(line.removeprefix("data: "))
    return event, payload


async def test_mounted_console_serves_the_page_and_runs_handlers_on_the_server_loop(minilm: Any) -> None:
    page = await minilm.get("/ui/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "embedrank console" in page.text
    bridge: EngineBridge = minilm.app.state.console.bridge
    direct, relayed = bridge.direct_calls, bridge.relayed_calls
    passages = "Qdrant is a Rust-based vector database\nn8n can call Qdrant over HTTP"
    event, payload = await gradio_call(minilm, "rerank", ["How to integrate Qdrant?", passages, 1, "bi-encoder"])
    assert event == "complete", payload
    ranking = payload[1]
    assert ranking["headers"][:4] == ["rank", "score", "raw", "#"]
    assert ranking["data"][0][4] == "n8n can call Qdrant over HTTP"
    # Gradio awaited the async handler on the app's own event loop: no hop was needed.
    assert bridge.direct_calls == direct + 1 and bridge.relayed_calls == relayed


async def test_handler_errors_reach_the_page_as_messages(minilm: Any) -> None:
    event, payload = await gradio_call(minilm, "embed", ["", "document", None])
    assert event == "error"
    assert "must not be empty" in json.dumps(payload)


async def test_status_route_reports_the_loaded_model(minilm: Any) -> None:
    event, payload = await gradio_call(minilm, "status", [])
    assert event == "complete"
    assert "sentence-transformers/all-MiniLM-L6-v2" in payload[0]


def test_console_off_without_gradio_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` now raises ImportError
    with caplog.at_level(logging.INFO, logger="ui"):
        app = create_app(Settings())
    assert not any(getattr(route, "path", "") == "/ui" for route in app.routes)
    assert "pip install 'embedrank[ui]'" in caplog.text


def test_ui_enabled_false_mounts_nothing() -> None:
    app = create_app(Settings(ui_enabled=False))
    assert not any(getattr(route, "path", "") == "/ui" for route in app.routes)
    assert not hasattr(app.state, "console")


async def test_api_key_puts_the_console_behind_a_login(app_client: AppClient) -> None:
    async with app_client(api_key="console-secret") as client:
        assert (await client.get("/ui/config")).status_code == 401
        refused = await client.post("/ui/gradio_api/call/status", json={"data": []})
        assert refused.status_code == 401
        wrong = await client.post("/ui/login", data={"username": "me", "password": "nope"})
        assert wrong.status_code in (400, 401)
        ok = await client.post("/ui/login", data={"username": "anyone", "password": "console-secret"})
        assert ok.status_code == 200, ok.text
        event, payload = await gradio_call(client, "status", [])
        assert event == "complete" and "| API key | required |" in payload[0]
        # The console's login is for /ui only: the API still wants the key in a header.
        assert (await client.post("/embed", json={"texts": ["x"]})).status_code == 401
