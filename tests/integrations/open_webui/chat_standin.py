"""A tiny OpenAI-compatible chat endpoint that records what Open WebUI sends it (the LLM is not our product)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request

from tests.live_server import in_thread

MODEL_ID = "recorder"


def recorder_app(received: list[dict[str, Any]]) -> FastAPI:
    """GET /v1/models lists one model; POST /v1/chat/completions stores the body and answers a fixed reply."""
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "test"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, Any]:
        body: dict[str, Any] = await request.json()
        received.append(body)
        return {
            "id": f"chatcmpl-{len(received)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "recorded"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    return app


@contextmanager
def serve_recorder(port: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Yield (base URL ending in /v1, the list of received chat bodies) while the endpoint runs."""
    received: list[dict[str, Any]] = []
    with in_thread(recorder_app(received), port, what="chat stand-in") as url:
        yield f"{url}/v1", received
