"""Fast JSON responses: orjson writes numpy float32 arrays directly (no Python float boxing)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from service.engine.results import Timings

# Above this many numbers a response is rendered on a worker thread: ~1 ms of orjson on the loop.
_OFF_LOOP_VALUES = 100_000


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by orjson, numpy arrays included."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


async def vectors_response(content: Any, *, values: int, headers: dict[str, str]) -> Response:
    """A response holding `values` numbers: large ones are rendered off the event loop (orjson holds
    the GIL, but the loop then gets its turn every switch interval instead of waiting for the whole)."""
    if values < _OFF_LOOP_VALUES:
        return FastJSONResponse(content, headers=headers)
    body = await asyncio.to_thread(dumps, content)
    return Response(body, media_type="application/json", headers=headers)


def timing_headers(timings: Timings) -> dict[str, str]:
    """TEI-style timing headers, in milliseconds."""
    return {
        "x-tokenization-time": f"{timings.tokenization * 1000:.3f}",
        "x-queue-time": f"{timings.queue * 1000:.3f}",
        "x-inference-time": f"{timings.inference * 1000:.3f}",
        "x-compute-tokens": str(timings.compute_tokens),
    }
