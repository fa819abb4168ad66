"""Body-shape dispatch: one path (e.g. /embed) serves several dialects, chosen by the body's keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, TypeVar

import orjson
from fastapi import Request, Response
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from service.api.errors import FIELD_HOMES, set_dialect
from service.errors import InvalidInput

T = TypeVar("T")
Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


@dataclass
class Shape:
    dialect: str
    key: str  # the key that identifies this dialect's body
    handler: Handler
    schema: type[BaseModel]


@dataclass
class ShapeDispatcher:
    """Routes a JSON object body to the dialect whose identifying key it carries."""

    path: str
    shapes: list[Shape] = field(default_factory=list)
    # Shared with the route's openapi_extra, so dialects registered after the route appear in /docs.
    _schemas: list[dict[str, Any]] = field(default_factory=list)

    def register(self, dialect: str, key: str, schema: type[BaseModel], handler: Handler) -> None:
        self.shapes.append(Shape(dialect, key, handler, schema))
        self._schemas.append(schema.model_json_schema(ref_template="#/components/schemas/{model}"))

    def openapi(self) -> dict[str, Any]:
        """A requestBody listing every dialect's schema, for /docs and schema-driven tools."""
        return {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"oneOf": self._schemas}}},
            }
        }

    def suggest(self, body: dict[str, Any]) -> str:
        """' `input` is the field of POST /v1/embeddings; here use `texts` or `inputs`.' for a misplaced key."""
        keys = [s.key for s in self.shapes]
        here = " or ".join(f"`{k}`" for k in keys)
        for key in body:
            near = get_close_matches(str(key), keys, n=1, cutoff=0.6)
            if key in FIELD_HOMES:
                return f" `{key}` is the field of {FIELD_HOMES[key]}; on {self.path} send {here}."
            if near:
                return f" Unknown field `{key}`: did you mean `{near[0]}`?"
        return ""

    async def __call__(self, request: Request) -> Response:
        body = await read_json(request)
        matches = [shape for shape in self.shapes if isinstance(body, dict) and shape.key in body]
        if len(matches) != 1:
            set_dialect(request, matches[0].dialect if matches else self.shapes[0].dialect)
            expected = "; ".join(f"{s.dialect}: {sorted(s.schema.model_fields)}" for s in self.shapes)
            problem = "mixes keys of several dialects" if matches else "matches no dialect"
            hint = "" if matches or not isinstance(body, dict) else self.suggest(body)
            raise InvalidInput(
                f"the body of {self.path} {problem}.{hint} Send a JSON object with the keys of one: {expected}"
            )
        shape = matches[0]
        set_dialect(request, shape.dialect)
        return await shape.handler(request, body)


async def read_json(request: Request) -> Any:
    """The parsed body; malformed JSON is a 422 with a readable message, not a 500."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from exc


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it (and so dropping its queued items) if the client goes away."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # let the cancellation land first
    if task.cancelled():  # nobody is left to answer: no response, and not an error of ours
        raise ClientDisconnect()
    return task.result()


async def _wait_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
