"""The Search tab opens only the server's configured store: no user-named URL, path or collection (issue 19)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AppClient
from tests.hostile_http import json_answer, listener

pytest.importorskip("qdrant_client", reason="the Search tab needs qdrant-client: pip install 'embedrank[qdrant]'")

SECRET = "qdrant-secret-of-the-server"


async def call_search(client: httpx.AsyncClient, data: list[Any]) -> tuple[int, str]:
    """The console's search API over HTTP, as the probe called it: (status of the call, the event stream)."""
    started = await client.post("/ui/gradio_api/call/search", json={"data": data})
    if started.status_code != 200:
        return started.status_code, started.text
    stream = await client.get(f"/ui/gradio_api/call/search/{started.json()['event_id']}")
    return started.status_code, stream.text


async def test_a_user_supplied_url_or_path_reaches_nothing(app_client: AppClient, tmp_path: Path) -> None:
    """The probe: a URL in the Qdrant field got the server's key sent to it; a path got a store created."""
    planted = tmp_path / "planted-store"
    store = tmp_path / "configured"  # the configured local store does not exist either: nothing is created
    with listener(json_answer(b'{"leak": "LISTENER-BODY-7f3"}')) as seen:
        probe_url = f"{seen.url}/internal/secret?x="
        async with app_client(qdrant_path=str(store), qdrant_api_key=SECRET) as client:
            payloads = [
                ["q", "embedrank", probe_url, 5, 50, "off", "hybrid"],  # the old location field: one input too many
                ["q", probe_url, 5, 50, "off", "hybrid"],  # the URL as the collection
                ["q", str(planted), 5, 50, "off", "hybrid"],  # a path as the collection
                ["q", "../../" + str(planted), 5, 50, "off", "hybrid"],
                ["q", "embedrank", str(planted), 5, 50, "off", "hybrid"],
            ]
            for data in payloads:
                status, stream = await call_search(client, data)
                assert "LISTENER-BODY-7f3" not in stream and SECRET not in stream, (data, stream)
                assert status != 200 or "event: error" in stream, (data, stream)
    assert seen.connections == 0 and seen.heads == []
    assert not planted.exists() and not store.exists()
    assert not any(p.name.startswith("planted") for p in tmp_path.iterdir())


async def test_the_key_goes_to_the_configured_server_only(app_client: AppClient) -> None:
    """With QDRANT_URL set, the search talks to that server, with QDRANT_API_KEY, and to nothing else."""
    with listener(json_answer(b'{"status": "error"}', "404 Not Found")) as configured, listener() as other:
        async with app_client(qdrant_url=configured.url, qdrant_api_key=SECRET) as client:
            status, stream = await call_search(client, ["q", "embedrank", 5, 50, "off", "hybrid"])
            assert status == 200 and "event: error" in stream  # the stand-in is no Qdrant
            status, stream = await call_search(client, ["q", f"{other.url}/x", 5, 50, "off", "hybrid"])
            assert "event: error" in stream and ("not searchable" in stream or "not in the list of choices" in stream)
    assert configured.connections >= 1
    assert all(f"api-key: {SECRET}".encode() in head.lower() for head in configured.heads)
    assert other.connections == 0


async def test_allowlisted_collections_only(app_client: AppClient, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    async with app_client(qdrant_path=str(store), search_collections="docs,notes") as client:
        _, stream = await call_search(client, ["q", "secrets", 5, 50, "off", "hybrid"])
        assert "event: error" in stream
        message = json.dumps(stream)
        assert "not searchable" in message or "not in the list of choices" in message
    assert os.listdir(store) == []
