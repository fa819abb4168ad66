"""Ray Serve replicas of the app on 2 nodes: spread, bit-equal vectors, dialects/keys/429, a replica killed."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.ray_serve import APP_NAME, NODE_HEADER, PID_HEADER, REPLICA_HEADER, build_application
from tests.live_server import free_port, live_server
from tests.ray.local_cluster import wait_all_ready, wait_ready

pytestmark = pytest.mark.slow
KEY = "ray-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
STARTUP_POLLS: list[tuple[int, str]] = []  # what /ready answered while the replicas started (serve_url)
TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]


@pytest.fixture(scope="module")
def serve_url(ray_cluster: Any) -> Iterator[str]:
    """Two replicas (1 CPU each on 1-CPU nodes: one per node) behind Serve's HTTP proxy on 127.0.0.1."""
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port}, proxy_location="HeadOnly")
    # A tight admission limit (0.5 s of queued work) so that concurrent large requests meet the app's own
    # 429, while the fault drill's small requests never do.
    settings = Settings(ui_enabled=False, api_key=KEY, max_queue_wait_s=0.5)
    started = time.perf_counter()
    serve.run(build_application(settings, replicas=2), name=APP_NAME, route_prefix="/", blocking=False)
    base = f"http://127.0.0.1:{port}"
    STARTUP_POLLS.extend(wait_ready(base, poll_s=0.1))
    wait_all_ready(base, replicas=2)
    print(f"\nRay Serve: 2 replicas ready in {time.perf_counter() - started:.1f}s; /ready said {STARTUP_POLLS}")
    try:
        yield base
    finally:
        serve.shutdown()


def _replicas(base: str, requests: int = 40) -> Counter[tuple[str, str, str]]:
    def one(_: int) -> tuple[str, str, str]:
        r = httpx.post(f"{base}/embed", json={"texts": ["spread me"]}, headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        return r.headers[REPLICA_HEADER], r.headers[PID_HEADER], r.headers[NODE_HEADER]

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(one, range(requests)))


def test_ready_answers_only_200_or_503_while_replicas_load(serve_url: str) -> None:
    # Each replica's lifespan waits for its model (Serve must not route to a loading replica), so while
    # none is warm the proxy answers 503 or holds the poll; once one is, 200.
    assert STARTUP_POLLS[-1] == (200, "")
    assert all(status in (0, 200, 503) for status, _ in STARTUP_POLLS), STARTUP_POLLS


def test_requests_reach_every_replica_on_both_nodes(serve_url: str) -> None:
    from ray import serve

    seen = _replicas(serve_url)
    replicas = serve.status().applications[APP_NAME].deployments["Embedrank"].replica_states
    assert replicas.get("RUNNING") == 2
    assert len({replica for replica, _, _ in seen}) == 2, seen
    assert len({node for _, _, node in seen}) == 2, seen  # one replica per node


def test_vectors_equal_plain_embedrank_serve_bit_for_bit(serve_url: str) -> None:
    bodies = [
        ("/embed", {"texts": TEXTS, "input_type": "document"}),
        ("/embed", {"texts": TEXTS, "input_type": "query", "dimensions": 128}),
        ("/v1/embeddings", {"input": TEXTS, "model": "m", "encoding_format": "base64"}),
        ("/embed", {"inputs": TEXTS}),  # TEI
    ]
    with live_server({"UI_ENABLED": "false"}) as plain:
        want = [httpx.post(plain + path, json=body, timeout=60).json() for path, body in bodies]
    for (path, body), expected in zip(bodies, want, strict=True):
        for _ in range(4):  # several requests: both replicas answer some
            r = httpx.post(serve_url + path, json=body, headers=AUTH, timeout=60)
            assert r.status_code == 200, r.text
            got = r.json()
            vectors = (
                [row["embedding"] for row in got["data"]] if path == "/v1/embeddings"
                else got["vectors"] if isinstance(got, dict) else got
            )  # fmt: skip
            reference = (
                [row["embedding"] for row in expected["data"]] if path == "/v1/embeddings"
                else expected["vectors"] if isinstance(expected, dict) else expected
            )  # fmt: skip
            assert vectors == reference  # same JSON floats / base64 bytes: bit for bit


def test_keys_metrics_and_dialects_pass_through_the_proxy(serve_url: str) -> None:
    assert httpx.get(f"{serve_url}/health", timeout=10).status_code == 200  # probes need no key
    denied = httpx.post(f"{serve_url}/v1/embeddings", json={"input": "x", "model": "m"}, timeout=10)
    assert denied.status_code == 401 and "error" in denied.json()
    assert httpx.post(f"{serve_url}/embed", json={"texts": ["x"]}, headers={"X-API-Key": KEY}).status_code == 200
    cohere = httpx.post(f"{serve_url}/v1/rerank", headers=AUTH, timeout=30,
                        json={"query": "food", "documents": TEXTS, "top_n": 3}).json()  # fmt: skip
    assert [hit["index"] for hit in cohere["results"]][:2] == [0, 1] or cohere["results"][0]["index"] in (0, 1)
    tei = httpx.post(f"{serve_url}/rerank", json={"query": "food", "texts": TEXTS}, headers=AUTH, timeout=30).json()
    assert len(tei) == 3 and {"index", "score"} <= set(tei[0])
    bad = httpx.post(f"{serve_url}/v1/embeddings", json={"input": [], "model": "m"}, headers=AUTH, timeout=10)
    assert bad.status_code in (400, 422) and "message" in bad.json()["error"]  # the caller's dialect
    metrics = httpx.get(f"{serve_url}/metrics", headers=AUTH, timeout=10)
    assert metrics.status_code == 200 and "embedrank_" in metrics.text and REPLICA_HEADER in metrics.headers


def test_overload_429_and_retry_after_pass_through(serve_url: str) -> None:
    long = " ".join(["embedding"] * 60)
    body = {"texts": [f"{i} {long}" for i in range(120)]}  # ~7.5k tokens: seconds of work on a 1-CPU replica

    def one(_: int) -> httpx.Response:
        return httpx.post(f"{serve_url}/embed", json=body, headers=AUTH, timeout=120)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[429] >= 1 and statuses[200] >= 1, statuses
    refused = next(r for r in answers if r.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1 and "busy" in refused.json()["detail"]  # native dialect


def test_killing_a_replica_under_load(serve_url: str) -> None:
    """SIGKILL one replica's process mid-load: no request hangs, failures are 5xx, the replica comes back."""
    from ray import serve

    before = _replicas(serve_url)
    victim_id, victim_pid, _ = next(iter(before))
    results: list[tuple[float, int | str]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(headers=AUTH, timeout=30) as http:
            while not stop.is_set():
                texts = [f"{len(results)} {text}" for text in TEXTS]  # new texts: no cache hits
                try:
                    status: int | str = http.post(f"{serve_url}/embed", json={"texts": texts}).status_code
                except httpx.TimeoutException:
                    status = "hung"  # 30 s without an answer
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                results.append((time.monotonic(), status))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    killed_at = time.monotonic()
    os.kill(int(victim_pid), signal.SIGKILL)
    time.sleep(12)
    stop.set()
    for thread in threads:
        thread.join(timeout=40)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"

    statuses = Counter(status for _, status in results)
    failed = [status for _, status in results if status != 200]
    after = [status for at, status in results if at > killed_at + 5]
    print(f"\nfault drill: {dict(statuses)} over {len(results)} requests; failed in flight: {len(failed)}")
    assert all(isinstance(s, int) and 500 <= s < 600 for s in failed), statuses  # clear 5xx, no hangs/resets
    assert len(failed) <= 8, statuses  # only what was in flight on the victim (4 clients)
    assert after and all(s == 200 for s in after[-10:]), statuses  # the survivor keeps answering

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = serve.status().applications[APP_NAME].deployments["Embedrank"].replica_states
        if state.get("RUNNING") == 2:
            seen = _replicas(serve_url)
            ids = {replica for replica, _, _ in seen}
            if len(ids) == 2 and victim_id not in ids:
                print(f"replacement replica serving {time.monotonic() - killed_at:.0f}s after the kill")
                return
        time.sleep(2)
    raise AssertionError(f"no replacement replica after 120 s: {serve.status()}")
