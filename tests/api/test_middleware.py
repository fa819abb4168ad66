"""The app-wide middleware stack: CORS (never wildcard with credentials) around auth, and its order."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from service.app import create_app
from service.config import Settings
from tests.conftest import AppClient

ORIGIN = "https://app.example.com"


async def test_cors_preflight_needs_no_key_and_a_401_is_readable_by_the_browser(app_client: AppClient) -> None:
    async with app_client(api_key="k", cors_origins=f"{ORIGIN}, http://localhost:3000", ui_enabled=False) as client:
        preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
        r = await client.options("/v1/embeddings", headers=preflight)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in r.headers
        r = await client.options("/embed", headers={**preflight, "Origin": "https://evil.example"})
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
        r = await client.post("/embed", json={"texts": ["x"]}, headers={"Origin": ORIGIN})
        assert r.status_code == 401 and r.headers["access-control-allow-origin"] == ORIGIN
        r = await client.post("/embed", json={"texts": ["x"]}, headers={"Origin": ORIGIN, "X-API-Key": "k"})
        assert r.status_code == 200 and "x-request-id" in r.headers["access-control-expose-headers"]


async def test_no_cors_headers_unless_configured(minilm: object) -> None:
    r = await minilm.get("/health", headers={"Origin": ORIGIN})  # type: ignore[attr-defined]
    assert "access-control-allow-origin" not in r.headers


def test_wildcard_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot be combined"):
        Settings(cors_origins="https://a.example,*", cors_allow_credentials=True)
    Settings(cors_origins="*")  # any origin, no cookies: allowed
    Settings(cors_origins=ORIGIN, cors_allow_credentials=True)


def test_serving_the_network_without_a_key_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="service.api.middleware"):
        create_app(Settings(host="127.0.0.1", ui_enabled=False))
        create_app(Settings(host="0.0.0.0", api_key="k", ui_enabled=False))
        assert not caplog.records
        create_app(Settings(host="0.0.0.0", ui_enabled=False))
    assert "without API_KEY" in caplog.records[0].getMessage()


async def test_auth_runs_before_the_body_is_read(app_client: AppClient) -> None:
    """A keyless 2 MB body is refused by auth (401), not parsed and not measured against the 413 limit."""
    async with app_client(api_key="k", max_request_bytes=1000, ui_enabled=False) as client:
        r = await client.post("/embed", content=b"{" * 2_000_000, headers={"content-type": "application/json"})
        assert r.status_code == 401
