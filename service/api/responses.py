"""Fast JSON responses: orjson writes numpy float32 arrays directly (no Python float boxing)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from service.engine.results import Timings


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by orjson, numpy arrays included."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def timing_headers(timings: Timings) -> dict[str, str]:
    """TEI-style timing headers, in milliseconds."""
    return {
        "x-tokenization-time": f"{timings.tokenization * 1000:.3f}",
        "x-queue-time": f"{timings.queue * 1000:.3f}",
        "x-inference-time": f"{timings.inference * 1000:.3f}",
        "x-compute-tokens": str(timings.compute_tokens),
    }
