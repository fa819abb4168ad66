"""Schemathesis against our own OpenAPI schema on a real server: no 5xx, every 4xx a JSON body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from service.app import create_app
from service.config import Settings
from tests.live_server import live_server

pytestmark = pytest.mark.slow

KEY = "fuzz-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES_PER_ROUTE = 25  # per generation mode; bounded so CI stays in minutes on two cores


def served_operations() -> list[tuple[str, str]]:
    """Every (method, path) of the schema the server publishes; routes added later are fuzzed too."""
    document = create_app(Settings(ui_enabled=False)).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def test_every_post_route_publishes_its_body() -> None:
    """Without a published body the fuzzer has nothing to send (the old /v1/embeddings, /tokenize...)."""
    document = create_app(Settings(ui_enabled=False)).openapi()
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        if "post" in item:
            body = item["post"].get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            assert body, path
            refs = [body] if "$ref" in body else body["oneOf"]
            assert all(ref["$ref"].rsplit("/", 1)[-1] in schemas for ref in refs), (path, refs)


@pytest.fixture(scope="module")
def fuzz_base(qwen3_path: Path, cross_encoder_path: Path) -> Iterator[str]:
    """Tiny models (fast), a cross-encoder (so every rerank path runs), auth on, small limits."""
    env = {
        "MODEL_NAME": str(qwen3_path),
        "CROSS_ENCODER_MODEL": str(cross_encoder_path),
        "API_KEY": KEY,
        "UI_ENABLED": "false",
        "MAX_ITEMS_PER_REQUEST": "64",
        "MAX_PASSAGES_PER_RERANK": "64",
        "LOG_LEVEL": "warning",
    }
    with live_server(env=env) as base:
        yield base


@pytest.fixture(scope="module")
def api_schema(fuzz_base: str) -> Any:
    """The schema exactly as the running server serves it (behind the API key)."""
    return schemathesis.openapi.from_url(f"{fuzz_base}/openapi.json", headers=AUTH, timeout=30)


def check(response: Any, case: Any) -> None:
    described = f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, described
    if response.status_code >= 400:
        body = json.loads(response.text)  # every error is JSON, in the caller's dialect
        assert isinstance(body, dict) and body, described
        assert "Traceback" not in response.text, described


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("method, path", served_operations())
def test_no_input_breaks_the_server(api_schema: Any, fuzz_base: str, method: str, path: str, mode: Any) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def run(case: Any) -> None:
        check(case.call(base_url=fuzz_base, headers=AUTH, timeout=60), case)

    try:
        run()
    except Unsatisfiable:
        if mode == GenerationMode.POSITIVE:
            raise
        # Nothing in the schema can be violated (no parameters, or any string goes): break what can be.
        unexpected_inputs(fuzz_base, method, path)


def unexpected_inputs(base: str, method: str, path: str) -> None:
    """Parameters, bodies and path values the operation does not declare: never a 5xx, errors are JSON."""
    concrete = path.replace("{model_id}", "%00%ff..%2F" + "x" * 3000)
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
        for params, body in [
            ({"unexpected": "1", "limit": "-1"}, None),
            ({"a": "\x00" * 100}, b'{"texts": ["x"]}'),
            ({}, b"[" * 10_000),
            ({}, b"\xff\xfe not json"),
        ]:
            r = client.request(method, concrete, params=params, content=body)
            described = f"{method} {concrete[:60]} {params} -> {r.status_code}: {r.text[:200]}"
            assert r.status_code < 500 and "Traceback" not in r.text, described
            if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
                assert isinstance(json.loads(r.text), dict), described


# Bodies no route can accept (4xx expected), then odd-but-legal ones (anything but a 5xx).
INVALID_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not json", b"{'texts': ['single quotes']}"),
    ("truncated", b'{"texts": ["a"'),
    ("null", b"null"),
    ("array", b'[["a"], ["b"]]'),
    ("number", b"1e999999"),
    ("NaN literal", b'{"texts": [NaN], "input": NaN, "query": NaN}'),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("lone surrogate", b'{"texts": ["\\ud800"], "input": "\\udfff", "query": "\\ud800", "documents": ["\\ud800"]}'),
    (
        "nul and controls",
        b'{"texts": ["\\u0000\\u0001\\u001f"], "input": "\\u0000", "query": "\\u0000", "documents": ["\\u0000"]}',
    ),
    ("invalid utf-8", b'{"texts": ["\xff\xfe"], "input": "\xc3\x28"}'),
    ("huge int", b'{"texts": ["a"], "dimensions": ' + b"9" * 5000 + b', "top_k": -' + b"9" * 5000 + b"}"),
    ("wrong types", b'{"texts": {"a": 1}, "input": {"b": 2}, "query": [1], "passages": "x", "documents": 3}'),
]
ODD_BODIES: list[tuple[str, bytes]] = [
    ("empty strings", b'{"texts": [""], "input": "", "query": "", "passages": [""], "documents": [""], "inputs": ""}'),
    ("only whitespace", b'{"texts": [" \\n\\t "], "input": ["\\u00a0"], "query": " ", "documents": ["\\u200b"]}'),
]


def test_hostile_bodies_on_every_post_route(fuzz_base: str) -> None:
    """Hand-made inputs a schema-driven fuzzer rarely makes, on every POST route the server has."""
    paths = [path for method, path in served_operations() if method == "POST"]
    assert {"/embed", "/rerank", "/", "/similarity", "/embeddings", "/v1/embed", "/v2/embed"} <= set(paths)
    with httpx.Client(base_url=fuzz_base, headers=AUTH, timeout=60) as client:
        for path in paths:
            for name, body in INVALID_BODIES + ODD_BODIES:
                for content_type in ("application/json", "text/plain"):
                    r = client.post(path, content=body, headers={"content-type": content_type})
                    described = f"{path} {name} ({content_type}) -> {r.status_code}: {r.text[:200]}"
                    assert r.status_code < 500 and "Traceback" not in r.text, described
                    assert r.status_code >= 400 or (name, body) in ODD_BODIES, described
                    if r.status_code >= 400:
                        assert isinstance(json.loads(r.text), dict), described
        assert client.get("/health").json()["status"] == "ok"
