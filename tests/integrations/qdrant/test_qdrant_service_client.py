"""Client retry/error behaviour against a real local HTTP server that answers 429/503 on purpose."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from integrations.qdrant.service_client import EmbedrankClient, ServiceError, _retry_after_seconds


class _Flaky(BaseHTTPRequestHandler):
    """Answers each path with the next canned (status, headers, body) from `script`."""

    script: ClassVar[dict[str, list[tuple[int, dict[str, str], object]]]] = {}
    seen: ClassVar[list[tuple[str, str | None, object]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.seen.append((self.path, self.headers.get("Authorization"), body))
        queue = self.script.get(self.path) or [(404, {}, {"detail": "no such path"})]
        status, headers, payload = queue.pop(0) if len(queue) > 1 else queue[0]
        data = json.dumps(payload).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture()
def flaky() -> Iterator[tuple[str, type[_Flaky]]]:
    _Flaky.script, _Flaky.seen = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Flaky
    server.shutdown()
    server.server_close()


def test_retries_429_and_503_honouring_retry_after(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    ok = {"vectors": [[0.1, 0.2]], "dim": 2}
    handler.script["/embed"] = [
        (429, {"Retry-After": "0.2"}, {"error": "busy"}),
        (503, {}, {"detail": "warming up"}),
        (200, {}, ok),
    ]
    with EmbedrankClient(url, api_key="s3cret", backoff=0.01) as client:
        started = time.perf_counter()
        assert client.embed(["hello"], input_type="query") == [[0.1, 0.2]]
        assert time.perf_counter() - started >= 0.2
    assert len(handler.seen) == 3
    path, auth, body = handler.seen[-1]
    assert (path, auth) == ("/embed", "Bearer s3cret")
    assert body == {"texts": ["hello"], "input_type": "query", "normalize": True, "truncate": True}


def test_gives_up_after_retries_with_the_server_message(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.script["/embed"] = [(503, {}, {"detail": "model not loaded"})]
    with EmbedrankClient(url, retries=2, backoff=0.01) as client, pytest.raises(ServiceError) as info:
        client.embed(["x"])
    assert info.value.status == 503 and "model not loaded" in str(info.value)
    assert len(handler.seen) == 3


def test_client_errors_are_not_retried(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.script["/rerank"] = [(422, {}, {"error": {"message": "passages must not be empty"}})]
    with EmbedrankClient(url, backoff=0.01) as client, pytest.raises(ServiceError, match="passages must not"):
        client.rerank("q", [])
    assert len(handler.seen) == 1


def test_embed_batches_in_order(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.script["/embed"] = [(200, {}, {"vectors": [[1.0], [2.0]]}), (200, {}, {"vectors": [[3.0]]})]
    with EmbedrankClient(url) as client:
        assert client.embed(["a", "b", "c"], batch_size=2) == [[1.0], [2.0], [3.0]]
    assert [body["texts"] for _, _, body in handler.seen] == [["a", "b"], ["c"]]  # type: ignore[index]


def test_unreachable_service_names_the_url() -> None:
    with (
        EmbedrankClient("http://127.0.0.1:9", retries=1, backoff=0.01) as client,
        pytest.raises(ServiceError, match=r"cannot reach the embedrank service at http://127.0.0.1:9"),
    ):
        client.health()


def test_retry_after_parsing() -> None:
    assert _retry_after_seconds("3") == 3.0
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("soon") is None
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_count_tokens_uses_tei_tokenize_and_remembers_its_absence(flaky: tuple[str, type[_Flaky]]) -> None:
    url, handler = flaky
    handler.script["/tokenize"] = [(200, {}, [[{"id": 1}, {"id": 2}], [{"id": 3}]])]
    with EmbedrankClient(url) as client:
        assert client.count_tokens(["a b", "c"]) == [2, 1]
    assert handler.seen[-1][2] == {"inputs": ["a b", "c"], "add_special_tokens": False}
    handler.script["/tokenize"] = [(404, {}, {"detail": "Not Found"})]
    with EmbedrankClient(url) as client:
        assert client.count_tokens(["x"]) is None
        assert client.count_tokens(["y"]) is None
    assert len(handler.seen) == 2  # the second call did not ask again
