"""API keys on every route of the real app, enumerated from its route table (new routes are covered too)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from service.api.auth import OPEN_PATHS, delegate_auth, key_is_valid
from service.api.route_table import route_table
from service.config import Settings
from service.errors import Unauthorized
from tests.conftest import AppClient

KEYS = "first-key,second-key"


@pytest.fixture(scope="module")
async def keyed(app_client: AppClient) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(api_key=KEYS) as client:
        yield client


def requests_for(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(method, concrete path) for every route and method of the app, mounts included, except the
    parts that run their own login (delegate_auth: the /ui console's Gradio login, tested with it)."""
    calls = []
    delegated = getattr(client.app.state, "auth_delegated", ())  # type: ignore[attr-defined]
    for entry in route_table(client.app):  # type: ignore[attr-defined]
        path = re.sub(r"\{[^}]+\}", "x", entry.path)
        if any(path == prefix or path.startswith(prefix + "/") for prefix in delegated):
            continue
        if entry.mount:
            calls.append(("GET", path.rstrip("/") + "/"))
        for method in sorted(entry.methods - {"HEAD"}):
            calls.append((method, path))
    return calls


async def test_the_route_table_lists_every_kind_of_route(keyed: httpx.AsyncClient) -> None:
    paths = {path for _, path in requests_for(keyed)}
    assert {"/embed", "/rerank", "/health", "/ready", "/metrics", "/docs", "/openapi.json"} <= paths


async def test_every_route_but_health_and_ready_needs_a_key(keyed: httpx.AsyncClient) -> None:
    checked = 0
    for method, path in requests_for(keyed):
        if path in OPEN_PATHS and not (path == "/" and method == "POST"):  # POST / is TEI's inference route
            continue
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "first-key-but-longer"}):
            r = await keyed.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            # the caller's dialect, known from the path before any body is read
            expected = keyed.app.state.dialects.for_path(path).render(Unauthorized("x"))  # type: ignore[attr-defined]
            assert r.json().keys() == expected.keys(), (path, r.json())
            assert "traceback" not in r.text.lower()
            checked += 1
    assert checked >= 3 * 8


async def test_either_key_opens_every_route_in_either_header(keyed: httpx.AsyncClient) -> None:
    for method, path in requests_for(keyed):
        for headers in (
            {"Authorization": "Bearer first-key"},
            {"authorization": "bearer second-key"},
            {"X-API-Key": "second-key"},
            {"Authorization": "Bearer wrong", "X-API-Key": "first-key"},
            {"Authorization": "first-key"},  # bare, as LlamaIndex's TEI reranker sends it
        ):
            r = await keyed.request(method, path, headers=headers, json={})
            assert r.status_code != 401, (method, path, headers)


async def test_health_and_ready_are_open(keyed: httpx.AsyncClient) -> None:
    for path in sorted(OPEN_PATHS - {"/"}):  # "/" only redirects: tests/api/test_first_contact.py
        assert (await keyed.get(path)).status_code == 200


async def test_docs_open_with_the_key(keyed: httpx.AsyncClient) -> None:
    r = await keyed.get("/openapi.json", headers={"X-API-Key": "first-key"})
    assert r.status_code == 200 and "/embed" in r.json()["paths"]
    assert (await keyed.get("/docs", headers={"Authorization": "Bearer first-key"})).status_code == 200


async def test_401_bodies_as_each_sdk_expects(keyed: httpx.AsyncClient) -> None:
    r = await keyed.post("/v1/embeddings", json={"input": "hi", "model": "m"})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error" and r.json()["error"]["code"] == "unauthorized"
    r = await keyed.post("/v2/rerank", json={"query": "q", "documents": ["d"]}, headers={"X-API-Key": "nope"})
    assert r.status_code == 401 and r.json()["message"] == "invalid API key"
    r = await keyed.get("/info")
    assert r.status_code == 401 and "API key required" in r.json()["error"]


async def test_a_bare_token_is_a_key_but_other_schemes_are_not(keyed: httpx.AsyncClient) -> None:
    body = {"inputs": "hi"}
    assert (await keyed.post("/", json=body, headers={"Authorization": "second-key"})).status_code == 200
    assert (await keyed.post("/", json=body, headers={"Authorization": "Basic second-key"})).status_code == 401
    assert (await keyed.post("/", json=body, headers={"Authorization": "wrong"})).status_code == 401
    assert (await keyed.post("/", json=body)).status_code == 401  # TEI's root route is inference, not a probe
    assert (await keyed.get("/")).status_code == 307


async def test_metrics_can_be_left_open_for_scrapers(app_client: AppClient) -> None:
    async with app_client(api_key=KEYS, metrics_require_key=False) as client:
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.post("/embed", json={"texts": ["a"]})).status_code == 401


async def test_without_api_key_nothing_is_refused(minilm: httpx.AsyncClient) -> None:
    for method, path in requests_for(minilm):
        r = await minilm.request(method, path, json={})
        assert r.status_code != 401, (method, path)


async def test_a_part_with_its_own_login_can_take_over_its_prefix(app_client: AppClient) -> None:
    async with app_client(api_key=KEYS) as client:
        console = Starlette(routes=[Route("/", lambda request: PlainTextResponse("console"))])
        client.app.mount("/console", console)  # type: ignore[attr-defined]
        assert (await client.get("/console/")).status_code == 401
        delegate_auth(client.app, "/console")  # type: ignore[attr-defined]
        r = await client.get("/console/")
        assert r.status_code == 200 and r.text == "console"
        assert (await client.get("/consoleX/")).status_code == 401  # a prefix, not a string match


def test_key_is_valid() -> None:
    keyed = Settings(api_key=" one , two ")
    assert key_is_valid(keyed, "one") and key_is_valid(keyed, "two")
    assert not key_is_valid(keyed, "three") and not key_is_valid(keyed, None) and not key_is_valid(keyed, "")
    assert not key_is_valid(keyed, "one,two") and not key_is_valid(keyed, "on")
    assert not key_is_valid(keyed, "ön\udcff")  # odd unicode is a wrong key, not a crash
    assert key_is_valid(Settings(), None)  # no API_KEY: authentication is off
    assert key_is_valid(Settings(api_key=" , "), None)
