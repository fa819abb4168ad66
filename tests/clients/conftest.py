"""One real MiniLM server per API-key setting for all client tests; each family's calls run once per server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.clients.harness import KEY, Native, Server, native, run_family
from tests.live_server import live_server


@pytest.fixture(scope="session", params=[None, KEY], ids=["no-key", "api-key"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    key: str | None = request.param
    # a generous start-up allowance: CI machines (and this shared one) can be slow to load the model
    with live_server(env={"API_KEY": key} if key else {}, timeout_s=300) as base:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if key:  # the key runs prove something only if a request without it is refused
            assert httpx.post(f"{base}/embed", json={"texts": ["x"]}, timeout=30).status_code == 401
        model = httpx.get(f"{base}/v1/models", headers=headers, timeout=30).json()["data"][0]["id"]
        yield Server(base=base, key=key, model=model)


@pytest.fixture(scope="session")
def expected(server: Server) -> Native:
    return native(server)


_RUNS: dict[tuple[str, str], dict[str, Any]] = {}


def outcomes(family: str, server: Server) -> dict[str, Any]:
    """The family's outcomes against this server, run once (a venv start and the imports cost seconds)."""
    if (family, server.base) not in _RUNS:
        _RUNS[(family, server.base)] = run_family(family, server)
    return _RUNS[(family, server.base)]
