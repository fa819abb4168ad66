"""HTTP client for the embedrank service: /health, /embed and /rerank with retries on transient errors."""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_SERVICE_URL = "http://localhost:9000"


def service_url_from_env() -> str:
    """EMBEDRANK_SERVICE_URL, else http://localhost:9000: the same default for the CLI and the Python API."""
    return os.environ.get("EMBEDRANK_SERVICE_URL") or DEFAULT_SERVICE_URL


# 429 = overloaded and 503 = not ready are the service's own transient answers; 502/504 come from proxies.
_TRANSIENT = frozenset({429, 502, 503, 504})


class ServiceError(RuntimeError):
    """The service refused or could not be reached; the message says which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServiceInfo:
    """What /health reports: the collection is created with `dim`, chunks are capped by `max_tokens`."""

    model: str
    backend: str
    device: str
    dim: int
    max_tokens: int
    cross_encoder: str | None


@dataclass(frozen=True)
class Reranked:
    """/rerank's answer: (index into the passages, score) best first, and what really ran."""

    order: list[tuple[int, float]]
    method: str


class EmbedrankClient:
    """A small synchronous client; one instance reuses one connection pool."""

    def __init__(
        self,
        base_url: str = DEFAULT_SERVICE_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._can_tokenize = True

    def __enter__(self) -> EmbedrankClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> ServiceInfo:
        body = self._request("GET", "/health")
        try:
            return ServiceInfo(
                model=str(body["model"]),
                backend=str(body.get("backend", "")),
                device=str(body.get("device", "")),
                dim=int(body["dim"]),
                max_tokens=int(body.get("max_tokens") or 0),
                cross_encoder=body.get("cross_encoder") or None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(f"{self.base_url}/health did not describe a model: {body!r:.200}") from exc

    def embed(self, texts: Sequence[str], input_type: str = "document", batch_size: int = 32) -> list[list[float]]:
        """Embed texts in request-sized batches, in order."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            body = self._request(
                "POST",
                "/embed",
                {"texts": batch, "input_type": input_type, "normalize": True, "truncate": True},
            )
            got = body.get("vectors")
            if not isinstance(got, list) or len(got) != len(batch):
                raise ServiceError(f"/embed returned {len(got or [])} vectors for {len(batch)} texts")
            vectors.extend(got)
        return vectors

    def count_tokens(self, texts: Sequence[str], batch_size: int = 32) -> list[int] | None:
        """Exact token counts (no special tokens) from the service's TEI `/tokenize`, or None when the
        service has no such endpoint or its backend exposes no tokenizer (remembered per client).

        Small batches: /tokenize answers an object per token, ~10 MB of Python objects for 256 chunks."""
        counts: list[int] = []
        for start in range(0, len(texts), batch_size):
            if not self._can_tokenize:
                return None
            batch = list(texts[start : start + batch_size])
            try:
                body = self._request("POST", "/tokenize", {"inputs": batch, "add_special_tokens": False})
            except ServiceError as exc:
                if exc.status in (404, 405, 422, 501):
                    log.info("no usable /tokenize on %s (%s); token counts stay estimates", self.base_url, exc)
                    self._can_tokenize = False
                    return None
                raise
            if not isinstance(body, list) or len(body) != len(batch):
                raise ServiceError(f"/tokenize returned {len(body or [])} rows for {len(batch)} texts")
            counts.extend(len(row) for row in body)
        return counts

    def rerank(
        self,
        query: str,
        passages: Sequence[str],
        top_k: int | None = None,
        use_cross_encoder: bool | None = None,
    ) -> Reranked:
        payload: dict[str, Any] = {"query": query, "passages": list(passages)}
        if top_k is not None:
            payload["top_k"] = top_k
        if use_cross_encoder is not None:
            payload["use_cross_encoder"] = use_cross_encoder
        body = self._request("POST", "/rerank", payload)
        order = [(int(item["index"]), float(item["score"])) for item in body.get("results", [])]
        return Reranked(order=order, method=str(body.get("method", "unknown")))

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Send with retries: transport errors and 429/502/503/504 back off, honouring Retry-After."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, path, json=payload)
            except httpx.TransportError as exc:
                if last:
                    raise ServiceError(
                        f"cannot reach the embedrank service at {self.base_url} "
                        f"({type(exc).__name__}: {exc}); is `embedrank serve` running there?"
                    ) from exc
                self._sleep(attempt, None, f"{type(exc).__name__}")
                continue
            if response.status_code in _TRANSIENT and not last:
                self._sleep(attempt, response.headers.get("Retry-After"), f"HTTP {response.status_code}")
                continue
            if response.is_success:
                body = response.json()
                # httpx's response and its stream refer to each other: a cycle the collector frees late,
                # keeping every answer's bytes alive meanwhile (~0.2 MB per /tokenize batch). Break it now.
                response.stream = httpx.ByteStream(b"")
                return body
            hint = (
                " (the service wants an API key: --api-key or EMBEDRANK_API_KEY)" if response.status_code == 401 else ""
            )
            raise ServiceError(
                f"{method} {path} -> HTTP {response.status_code}: {_error_message(response)}{hint}",
                response.status_code,
            )
        raise AssertionError("unreachable")  # the loop either returns or raises

    def _sleep(self, attempt: int, retry_after: str | None, why: str) -> None:
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            # Full jitter keeps many clients from retrying in lock-step.
            delay = random.uniform(0, self.backoff * 2**attempt)
        delay = min(delay, 60.0)
        log.warning("%s from %s; retry %d/%d in %.1fs", why, self.base_url, attempt + 1, self.retries, delay)
        time.sleep(delay)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _error_message(response: httpx.Response) -> str:
    """Pull the human message out of any of the service's error dialects."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message", value)
            if value:
                return str(value)[:300]
    return str(body)[:300]
