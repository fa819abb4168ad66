"""Real sockets against the real server: header deadline, idle keep-alive limit, connection cap, Host check."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from service.api.hosts import host_allowed, host_name
from tests.live_server import live_server


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    env = {
        "HEADER_TIMEOUT_S": "2",
        "KEEP_ALIVE_TIMEOUT_S": "1",
        "MAX_CONNECTIONS": "24",
        "ALLOWED_HOSTS": "embedrank.internal,.corp.example",
        "UI_ENABLED": "false",
    }
    with live_server(env) as base:
        yield base, int(base.rsplit(":", 1)[1])


def closed_within(sock: socket.socket, seconds: float, drip: bytes = b"") -> float | None:
    """Seconds until the server closed `sock` (dripping `drip` every 0.25 s meanwhile), None if it did not."""
    started = time.monotonic()
    sock.settimeout(0.25)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except OSError:
            return time.monotonic() - started
        if drip:
            try:
                sock.sendall(drip)
            except OSError:
                return time.monotonic() - started
    return None


def test_slow_header_connections_are_closed(server: tuple[str, int]) -> None:
    """The probe kept 200 slow-header connections open for 45 s+; each now closes at HEADER_TIMEOUT_S."""
    base, port = server
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
    for sock in socks:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    took = [closed_within(sock, 8, drip=b"X-Slow: 1\r\n") for sock in socks]
    assert all(t is not None and t < 5 for t in took), took
    for sock in socks:
        sock.close()
    assert httpx.get(f"{base}/health").status_code == 200


def test_silent_connections_are_closed(server: tuple[str, int]) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        took = closed_within(sock, 8)
    assert took is not None and 1.5 < took < 5, took


def test_idle_keep_alive_connections_are_closed(server: tuple[str, int]) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        took = closed_within(sock, 8)
    assert took is not None and took < 3, took


def test_a_slow_next_request_on_a_kept_alive_connection_is_closed(server: tuple[str, int]) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        took = closed_within(sock, 8, drip=b"X-Slow: 1\r\n")
    assert took is not None and took < 5, took


def test_connections_past_the_cap_get_503(server: tuple[str, int]) -> None:
    base, port = server
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port)) as extra:
            extra.settimeout(5)
            assert extra.recv(65536).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert httpx.get(f"{base}/health").status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:9000", "127.0.0.1.nip.io", "localhost.evil.example", "corp.example.evil"]
)
def test_foreign_host_headers_are_refused_on_loopback(server: tuple[str, int], host: str) -> None:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends its own Host."""
    base, _ = server
    r = httpx.post(f"{base}/embed", json={"texts": ["a"]}, headers={"host": host})
    assert r.status_code == 400 and r.json()["type"] == "invalid_host", r.text
    assert httpx.get(f"{base}/v1/models", headers={"host": host}).json()["error"]["code"] == "invalid_host"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "LOCALHOST:1",
        "[::1]:9000",
        "127.0.0.2",
        "host.docker.internal:9000",
        "embedrank.internal",
        "a.corp.example",
    ],
)
def test_loopback_and_allowed_hosts_are_served(server: tuple[str, int], host: str) -> None:
    base, _ = server
    r = httpx.post(f"{base}/embed", json={"texts": ["a"]}, headers={"host": host})
    assert r.status_code == 200, r.text


def test_real_clients_send_a_loopback_host(server: tuple[str, int]) -> None:
    openai = pytest.importorskip("openai")
    base, _ = server
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused")
    assert len(client.embeddings.create(model="x", input="hello").data[0].embedding) == 384
    localhost = base.replace("127.0.0.1", "localhost")
    assert httpx.post(f"{localhost}/embed", json={"texts": ["a"]}).status_code == 200


def test_host_rules() -> None:
    assert host_name("[::1]:80") == "::1" and host_name("LocalHost:9000") == "localhost" and host_name("x.") == "x"
    assert not host_allowed("", []) and not host_allowed("evil", [])
    assert host_allowed("api.example.com", ["api.example.com"]) and host_allowed("anything", ["*"])


@pytest.mark.parametrize("impl", ["h11", "httptools"])
def test_both_uvicorn_protocols_get_the_header_deadline(impl: str) -> None:
    """uvicorn picks httptools when installed, else h11: the deadline and the cap hold on either."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from service.connections import GuardedConnection
    from tests.live_server import free_port, in_thread

    if impl == "httptools":
        pytest.importorskip("httptools")
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    protocol = type("Guarded", (GuardedConnection, base), {"header_timeout_s": 1.0, "max_connections": 3})
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    port = free_port()
    with in_thread(app, port, what="guarded uvicorn", http=protocol):
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            took = closed_within(slow, 6, drip=b"X-Slow: 1\r\n")
        assert took is not None and took < 3, took
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        with socket.create_connection(("127.0.0.1", port)) as extra:
            extra.settimeout(5)
            assert extra.recv(1024).startswith(b"HTTP/1.1 503")
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "ok"
