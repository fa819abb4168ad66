"""JSON routes take JSON only (415 otherwise, in the caller's dialect); gzip is decoded within the body limit."""

from __future__ import annotations

import gzip
import json
import zlib

import httpx
import pytest

from service.api.body_guard import is_json_media_type
from tests.conftest import AppClient

BODY = json.dumps({"texts": ["hello"]}).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # what a cross-site <form> or fetch() without preflight sends
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "application/jsonp",
        "application/json; charset=utf-16",
        "text/json",
    ],
)
async def test_other_content_types_are_415(minilm: httpx.AsyncClient, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = await minilm.post("/embed", content=BODY, headers=headers)
    assert r.status_code == 415, r.text
    assert r.json()["type"] == "unsupported_media_type" and "application/json" in r.json()["detail"]


async def test_415_comes_in_each_dialects_shape(minilm: httpx.AsyncClient) -> None:
    openai = await minilm.post("/v1/embeddings", content=b'{"input": "a"}', headers={"content-type": "text/plain"})
    assert openai.status_code == 415 and openai.json()["error"]["type"] == "invalid_request_error"
    cohere = await minilm.post("/v2/rerank", content=b"{}", headers={"content-type": "text/plain"})
    assert cohere.status_code == 415 and "message" in cohere.json()
    tei = await minilm.post("/tokenize", content=b"{}", headers={"content-type": "text/plain"})
    assert tei.status_code == 415 and tei.json()["error_type"] == "Validation"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/vnd.api+json"]
)
async def test_json_media_types_are_served(minilm: httpx.AsyncClient, content_type: str) -> None:
    r = await minilm.post("/embed", content=BODY, headers={"content-type": content_type})
    assert r.status_code == 200, r.text


def test_media_type_rule() -> None:
    assert is_json_media_type("Application/JSON") and is_json_media_type("application/problem+json; charset=utf8")
    assert not is_json_media_type("application/json-seq") and not is_json_media_type("text/plain+json")


async def test_gzip_bodies_are_decoded(minilm: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    r = await minilm.post("/embed", content=gzip.compress(BODY), headers=headers)
    assert r.status_code == 200, r.text
    plain = await minilm.post("/embed", json={"texts": ["hello"]})
    assert r.json()["vectors"] == plain.json()["vectors"]


async def test_a_gzip_bomb_is_413_without_inflating_it(app_client: AppClient) -> None:
    bomb = gzip.compress(b'{"texts": ["' + b"a" * (64 * 1024 * 1024) + b'"]}', compresslevel=9)
    assert len(bomb) < 100_000  # 64 MiB in under 100 kB
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    async with app_client(max_request_bytes=1_000_000, ui_enabled=False) as client:
        r = await client.post("/embed", content=bomb, headers=headers)
        assert r.status_code == 413, r.text
        assert r.json()["type"] == "payload_too_large"
        assert (await client.post("/embed", content=gzip.compress(BODY), headers=headers)).status_code == 200


async def test_bad_gzip_and_other_encodings(minilm: httpx.AsyncClient) -> None:
    json_type = {"content-type": "application/json"}
    broken = await minilm.post("/embed", content=b"not gzip", headers={**json_type, "content-encoding": "gzip"})
    assert broken.status_code == 422 and "gzip" in broken.json()["detail"]
    cut = await minilm.post(
        "/embed", content=gzip.compress(BODY)[:-12], headers={**json_type, "content-encoding": "gzip"}
    )
    assert cut.status_code == 422 and "gzip" in cut.json()["detail"]
    for encoding in ("deflate", "br", "gzip, gzip", "compress"):
        body = zlib.compress(BODY) if encoding == "deflate" else BODY
        r = await minilm.post("/embed", content=body, headers={**json_type, "content-encoding": encoding})
        assert r.status_code == 415 and "Content-Encoding" in r.json()["detail"], (encoding, r.text)
    identity = await minilm.post("/embed", content=BODY, headers={**json_type, "content-encoding": "identity"})
    assert identity.status_code == 200


async def test_an_empty_body_is_told_what_is_missing_not_415(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed")
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


async def test_unknown_paths_and_get_routes_are_untouched(minilm: httpx.AsyncClient) -> None:
    assert (await minilm.post("/nope", content=b"x", headers={"content-type": "text/plain"})).status_code == 404
    assert (await minilm.get("/health")).status_code == 200
    assert (await minilm.post("/health", content=b"x", headers={"content-type": "text/plain"})).status_code == 405


async def test_cors_is_off_unless_configured(minilm: httpx.AsyncClient, app_client: AppClient) -> None:
    origin = {"origin": "https://evil.example"}
    r = await minilm.post("/embed", json={"texts": ["a"]}, headers=origin)
    assert "access-control-allow-origin" not in r.headers
    preflight = await minilm.options("/embed", headers={**origin, "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    async with app_client(cors_origins="https://app.example", ui_enabled=False) as client:
        r = await client.post("/embed", json={"texts": ["a"]}, headers={"origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
