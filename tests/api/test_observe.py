"""Request context on the real app: X-Request-ID, one access-log line per request, generic 500s."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import AppClient
from tests.live_server import live_server


async def test_request_id_is_echoed_or_generated(minilm: httpx.AsyncClient) -> None:
    r = await minilm.get("/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert r.headers["x-request-id"] == "trace-42.a:b"
    generated = {(await minilm.get("/ready")).headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in generated)
    # ids that could forge log lines or bloat them are replaced, not echoed
    for bad in ("a b", "x" * 200, "line\\nbreak", ""):
        rid = (await minilm.get("/ready", headers={"X-Request-ID": bad})).headers["x-request-id"]
        assert rid != bad and re.fullmatch(r"[0-9a-f]{32}", rid)


async def test_errors_carry_the_request_id_too(minilm: httpx.AsyncClient) -> None:
    r = await minilm.post("/embed", json={"texts": []}, headers={"X-Request-ID": "bad-input-1"})
    assert r.status_code == 422 and r.headers["x-request-id"] == "bad-input-1"
    r = await minilm.get("/no/such/route", headers={"X-Request-ID": "missing-1"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "missing-1" and r.json()["detail"]


async def test_one_access_log_line_per_request(minilm: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.api.observe.access"):
        await minilm.post("/embed", json={"texts": ["logged"]}, headers={"X-Request-ID": "log-me"})
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "service.api.observe.access"]
    assert len(lines) == 1
    assert re.fullmatch(r"log-me \S+ POST /embed 200 \d+\.\dms", lines[0]), lines[0]


async def test_unexpected_errors_are_a_generic_500_logged_with_the_request_id(
    app_client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internals: /etc/passwd")

    async with app_client(ui_enabled=False) as client:
        client.app.add_api_route("/boom", boom, methods=["POST"])  # type: ignore[attr-defined]
        client.app.add_api_route("/v1/boom", boom, methods=["POST"])  # type: ignore[attr-defined]
        with caplog.at_level(logging.ERROR):
            r = await client.post("/boom", headers={"X-Request-ID": "req-500"})
        assert r.status_code == 500 and r.headers["x-request-id"] == "req-500"
        assert r.json() == {
            "detail": "internal error (request id req-500); see the server log",
            "type": "internal_error",
            "param": None,
        }
        assert "secret" not in r.text and "Traceback" not in r.text
        logged = [rec for rec in caplog.records if "req-500" in rec.getMessage()]
        assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])
        # a one-dialect path answers in its dialect; the server keeps serving
        r = await client.post("/v1/boom")
        assert r.status_code == 500 and "request id" in r.json()["error"]["message"]
        assert (await client.post("/embed", json={"texts": ["still fine"]})).status_code == 200


def test_a_client_that_hangs_up_is_a_499_not_an_error() -> None:
    """Real uvicorn: the dropped request is logged as 499 (nginx's 'client closed'), with no traceback."""
    body = json.dumps({"texts": [f"hang up {i} " + "vector search " * 100 for i in range(128)]}).encode()
    with live_server({"UI_ENABLED": "false", "MAX_BATCH_ITEMS": "8"}) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                b"POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Request-ID: gone-1\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            deadline = time.monotonic() + 60
            while not re.search(r'embedrank_queue_tokens\{batcher="embed"\} [1-9]', httpx.get(f"{base}/metrics").text):
                assert time.monotonic() < deadline, "the request never reached the queue"
                time.sleep(0.02)
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"embedrank-{port}.log"
        for _ in range(200):
            if "gone-1" in log.read_text():
                break
            time.sleep(0.05)
        assert httpx.post(f"{base}/embed", json={"texts": ["still serving"]}).status_code == 200
    lines = log.read_text()
    assert re.search(r"gone-1 \S+ POST /embed 499 ", lines), lines[-2000:]
    assert "Traceback" not in lines and "ERROR" not in lines
