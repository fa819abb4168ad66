"""Prometheus /metrics on the real app: traffic, batches, queue, cache, load time; one registry per app."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AppClient


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_requests_batches_tokens_and_cache(app_client: AppClient) -> None:
    async with app_client(ui_enabled=False) as client:
        before = samples((await client.get("/metrics")).text)
        texts = ["metrics one", "metrics two", "metrics three"]
        assert (await client.post("/embed", json={"texts": texts})).status_code == 200
        assert (await client.post("/embed", json={"texts": texts})).status_code == 200  # all cache hits
        assert (await client.post("/embed", json={"texts": []})).status_code == 422
        r = await client.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        after = samples(r.text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("embedrank_http_requests_total", route="/embed", method="POST", status="200") == 2
    assert delta("embedrank_http_requests_total", route="/embed", method="POST", status="422") == 1
    assert delta("embedrank_http_request_duration_seconds_count", route="/embed", method="POST") == 3
    assert delta("embedrank_batch_size_count", batcher="embed") == 1  # one batch of three
    assert delta("embedrank_batch_size_sum", batcher="embed") == 3
    assert (
        delta("embedrank_batch_tokens_sum", batcher="embed")
        == delta("embedrank_tokens_processed_total", batcher="embed")
        > 3 * 3
    )
    assert delta("embedrank_cache_misses_total") == 3 and delta("embedrank_cache_hits_total") == 3
    assert value(after, "embedrank_queue_items", batcher="embed") == 0
    assert value(after, "embedrank_ready") == 1 and value(after, "embedrank_healthy") == 1
    assert value(after, "embedrank_model_load_seconds") > 0
    assert value(after, "embedrank_http_requests_in_flight") == 1  # the scrape itself


async def test_each_app_has_its_own_registry(app_client: AppClient, minilm: httpx.AsyncClient) -> None:
    key = ("embedrank_http_requests_total", frozenset({"route": "/ready", "method": "GET", "status": "200"}.items()))
    async with app_client(ui_enabled=False) as other:
        mine_before = samples((await minilm.get("/metrics")).text).get(key, 0.0)
        await other.get("/ready")
        for _ in range(2):
            await minilm.get("/ready")
        assert samples((await other.get("/metrics")).text)[key] == 1
        assert samples((await minilm.get("/metrics")).text)[key] - mine_before == 2


async def test_metrics_can_be_switched_off(app_client: AppClient) -> None:
    async with app_client(metrics_enabled=False, ui_enabled=False) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.post("/embed", json={"texts": ["still served"]})).status_code == 200
