"""Body-shape dispatch: one path (e.g. /embed) serves several dialects, chosen by the body's keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from fastapi import Request, Response
from starlette.requests import ClientDisconnect

from service.errors import InvalidInput

if TYPE_CHECKING:
    from service.api.dialect import BodyShape

T = TypeVar("T")


@dataclass
class ShapeDispatcher:
    """Routes a JSON object body on a shared path to the dialect whose identifying key it carries."""

    path: str
    shapes: list[BodyShape]
    homes: dict[str, str]  # field -> where it belongs, from every registered dialect

    def suggest(self, body: dict[str, Any]) -> str:
        """' `input` is the field of POST /v1/embeddings; here use `texts` or `inputs`.' for a misplaced key."""
        keys = [s.key for s in self.shapes]
        here = " or ".join(f"`{k}`" for k in keys)
        for key in body:
            near = get_close_matches(str(key), keys, n=1, cutoff=0.6)
            if key in self.homes:
                return f" `{key}` is the field of {self.homes[key]}; on {self.path} send {here}."
            if near:
                return f" Unknown field `{key}`: did you mean `{near[0]}`?"
        return ""

    async def __call__(self, request: Request) -> Response:
        body = await read_json(request)
        matches = [shape for shape in self.shapes if isinstance(body, dict) and shape.key in body]
        if len(matches) != 1:
            request.state.dialect = matches[0].dialect if matches else self.shapes[0].dialect
            expected = "; ".join(f"{s.dialect}: {sorted(s.schema.model_fields)}" for s in self.shapes)
            problem = "mixes keys of several dialects" if matches else "matches no dialect"
            hint = "" if matches or not isinstance(body, dict) else self.suggest(body)
            raise InvalidInput(
                f"the body of {self.path} {problem}.{hint} Send a JSON object with the keys of one: {expected}"
            )
        shape = matches[0]
        request.state.dialect = shape.dialect
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
