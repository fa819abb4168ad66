"""Prometheus metrics on a per-app registry: HTTP traffic, batches, queue, cache, model load; GET /metrics."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service import __version__
from service.api.loop_lag import LoopLagMonitor
from service.engine import Engine
from service.engine.batcher import BatchRecord

router = APIRouter(tags=["status"])

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_SIZE_BUCKETS = tuple(float(2**i) for i in range(11))  # 1 .. 1024 items
_TOKEN_BUCKETS = tuple(float(2**i) for i in range(4, 19))  # 16 .. 262144 tokens


class Metrics:
    """Every metric of one app. A registry per app, so several apps in one process never clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "embedrank_http_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "embedrank_http_request_duration_seconds", "Time from request start to response end.",
            ["route", "method"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.in_flight = Gauge("embedrank_http_requests_in_flight", "Requests being served now.", registry=r)
        self.batch_size = Histogram(
            "embedrank_batch_size", "Inputs per forward pass.", ["batcher"], buckets=_SIZE_BUCKETS, registry=r
        )
        self.batch_tokens = Histogram(
            "embedrank_batch_tokens", "Real (unpadded) tokens per forward pass.", ["batcher"],
            buckets=_TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "embedrank_batch_duration_seconds", "Time of one forward pass on the inference thread.", ["batcher"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.engine_collector = EngineCollector()
        r.register(self.engine_collector)

    # RequestObserver (service.api.observe)
    def request_started(self, route: str) -> None:
        self.in_flight.inc()

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        self.in_flight.dec()
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def observe_batch(self, record: BatchRecord) -> None:
        if record.failed:
            return  # failures are counted by the engine collector; their sizes would skew the histograms
        self.batch_size.labels(record.batcher).observe(record.items)
        self.batch_tokens.labels(record.batcher).observe(record.tokens)
        self.batch_seconds.labels(record.batcher).observe(record.seconds)

    def bind(self, engine: Engine, loop_lag: LoopLagMonitor | None = None) -> None:
        """Start observing a freshly built engine (called by the lifespan)."""
        self.engine_collector.engine = engine
        self.engine_collector.loop_lag = loop_lag
        engine.add_batch_observer(self.observe_batch)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class EngineCollector(Collector):
    """Reads the engine's own counters at scrape time: nothing is counted twice."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.loop_lag: LoopLagMonitor | None = None

    def collect(self) -> Iterator[Metric]:
        engine = self.engine
        ready = GaugeMetricFamily("embedrank_ready", "1 once the model is loaded and warmed up.")
        ready.add_metric([], float(engine is not None and engine.ready))
        yield ready
        if engine is None:
            return
        info = GaugeMetricFamily(
            "embedrank_model_info", "The loaded model (value 1).", labels=["model", "backend", "device", "version"]
        )
        info.add_metric([engine.info.name, engine.info.backend, engine.info.device, __version__], 1.0)
        yield info
        healthy = GaugeMetricFamily("embedrank_healthy", "0 when /health reports unhealthy.")
        healthy.add_metric([], float(not engine.health()))
        yield healthy
        load = GaugeMetricFamily("embedrank_model_load_seconds", "Time to load the model(s) at start-up.")
        load.add_metric([], engine.load_seconds)
        yield load
        yield from _batcher_metrics(engine)
        cache = engine.cache.stats()
        for name, key, help_text in (
            ("embedrank_cache_hits", "hits", "Embedding cache hits."),
            ("embedrank_cache_misses", "misses", "Embedding cache misses."),
        ):
            counter = CounterMetricFamily(name, help_text)
            counter.add_metric([], cache[key])
            yield counter
        entries = GaugeMetricFamily("embedrank_cache_entries", "Entries in the embedding cache.")
        entries.add_metric([], cache["entries"])
        yield entries
        cache_bytes = GaugeMetricFamily("embedrank_cache_bytes", "Memory held by the embedding cache.")
        cache_bytes.add_metric([], cache["bytes"])
        yield cache_bytes
        admission = engine.admission.stats
        rejected = CounterMetricFamily(
            "embedrank_rejected_requests", "Requests refused with 429 at admission (estimated wait too long)."
        )
        rejected.add_metric([], admission.rejected)
        yield rejected
        queued = GaugeMetricFamily(
            "embedrank_queued_work_seconds", "Estimated seconds of admitted work not yet finished."
        )
        queued.add_metric([], admission.queued_seconds)
        yield queued
        yield from _class_metrics(engine)
        tokenize = CounterMetricFamily("embedrank_tokenize_seconds", "Time spent in the tokenisation stage.")
        tokenize.add_metric([], engine.tokens.seconds)
        yield tokenize
        if self.loop_lag is not None:
            lag = GaugeMetricFamily(
                "embedrank_event_loop_lag_seconds", "Worst event-loop lag of the last 10 s (a timer firing late)."
            )
            lag.add_metric([], self.loop_lag.recent_max)
            yield lag


def _batcher_metrics(engine: Engine) -> Iterator[Metric]:
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
        "queue_items": GaugeMetricFamily(
            "embedrank_queue_items", "Inputs not yet taken into a batch.", labels=["batcher"]
        ),
        "queue_tokens": GaugeMetricFamily(
            "embedrank_queue_tokens",
            "Tokens accepted and not yet computed.",
            labels=["batcher"],
        ),
        "real_tokens": CounterMetricFamily(
            "embedrank_tokens_processed", "Tokens run through the model (no padding).", labels=["batcher"]
        ),
        "padded_tokens": CounterMetricFamily(
            "embedrank_padded_tokens_processed", "Tokens run through the model, padding included.", labels=["batcher"]
        ),
        "items": CounterMetricFamily("embedrank_items_processed", "Inputs run through the model.", labels=["batcher"]),
        "failures": CounterMetricFamily("embedrank_batch_failures", "Forward passes that failed.", labels=["batcher"]),
        "oom_splits": CounterMetricFamily(
            "embedrank_oom_batch_splits", "Batches split in two after the device ran out of memory.", labels=["batcher"]
        ),
        "dropped_items": CounterMetricFamily(
            "embedrank_dropped_items", "Queued inputs dropped (caller gone or timed out).", labels=["batcher"]
        ),
    }
    for batcher in engine.batchers:
        values = {**vars(batcher.stats), "queue_items": batcher.queued_items, "queue_tokens": batcher.queued_tokens}
        for key, family in families.items():
            family.add_metric([batcher.name], values[key])
    yield from families.values()


def _class_metrics(engine: Engine) -> Iterator[Metric]:
    """Per class of work (interactive, bulk): admission and what each batcher did for it."""
    labels = ["class"]
    admitted = CounterMetricFamily("embedrank_class_admitted_requests", "Requests admitted per class.", labels=labels)
    rejected = CounterMetricFamily(
        "embedrank_class_rejected_requests", "Requests refused (429) per class.", labels=labels
    )
    queued = GaugeMetricFamily(
        "embedrank_class_queued_work_seconds", "Estimated seconds of admitted work not yet finished, per class.",
        labels=labels,
    )  # fmt: skip
    both = ["batcher", "class"]
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
        "requests": CounterMetricFamily("embedrank_class_requests", "Requests served by a batcher.", labels=both),
        "items": CounterMetricFamily("embedrank_class_items_processed", "Inputs run through the model.", labels=both),
        "batches": CounterMetricFamily("embedrank_class_batches", "Forward passes.", labels=both),
        "inference_seconds": CounterMetricFamily(
            "embedrank_class_inference_seconds", "Time on the inference thread.", labels=both
        ),
        "queue_seconds": CounterMetricFamily(
            "embedrank_class_queue_wait_seconds",
            "Queue wait summed over requests (divide by embedrank_class_requests_total for the mean).",
            labels=both,
        ),
        "queued_items": GaugeMetricFamily("embedrank_class_queue_items", "Inputs waiting for a batch.", labels=both),
    }
    for work_class, counts in engine.admission.by_class.items():
        admitted.add_metric([work_class], counts.admitted)
        rejected.add_metric([work_class], counts.rejected)
        queued.add_metric([work_class], counts.queued_seconds)
        for batcher in engine.batchers:
            values = {**vars(batcher.scheduler.stats[work_class]), "queued_items": batcher.queued_items_of(work_class)}
            for key, family in families.items():
                family.add_metric([batcher.name, work_class], values[key])
    yield from (admitted, rejected, queued, *families.values())


def install_metrics(app: FastAPI) -> Metrics:
    """Create the app's metrics and serve them at GET /metrics."""
    metrics = Metrics()
    app.state.metrics = metrics
    app.include_router(router)
    return metrics


@router.get(
    "/metrics",
    summary="Prometheus metrics (needs the API key when API_KEY is set, unless METRICS_REQUIRE_KEY=false)",
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
