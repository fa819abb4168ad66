"""A wire dialect as one object: its routes, its bodies on shared paths, its field names and error body."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from service.api.dispatch import until_disconnect
from service.errors import InvalidInput, ServiceError

T = TypeVar("T")
Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


@dataclass(frozen=True)
class BodyShape:
    """A body this dialect sends to a path other dialects share (/embed, /rerank): told apart by `key`."""

    path: str
    key: str
    schema: type[BaseModel]
    handler: Handler
    dialect: str
    response: type[BaseModel] | None = None  # published for the path's first shape (the native one)


class Dialect:
    """One wire dialect. Subclasses set the class attributes and add their routes in `add_routes`."""

    name: ClassVar[str]
    # The engine names its fields texts / passages / query; the caller must read its own names.
    fields: ClassVar[dict[str, str]] = {}
    # Status of a malformed or invalid request (OpenAI and Cohere answer 400, FastAPI-style servers 422).
    invalid_status: ClassVar[int] = 422
    # Path prefixes that speak this dialect even where no route matches (a typo under /v1 is OpenAI's).
    prefixes: ClassVar[tuple[str, ...]] = ()
    # Where this dialect's body fields live, to point a body sent to the wrong route at its home.
    homes: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self.router = APIRouter(tags=[self.name], dependencies=[Depends(self.mark)])
        self.shapes: list[BodyShape] = []
        self.models: dict[str, type[BaseModel]] = {}  # published request bodies, by component name
        self.add_routes()

    def add_routes(self) -> None:
        """Declare routes on `self.router` and shapes with `self.shape`."""

    def mark(self, request: Request) -> None:
        """Remember that the caller speaks this dialect, so errors come back in its shape."""
        request.state.dialect = self.name

    def shape(
        self, path: str, key: str, schema: type[BaseModel], handler: Handler, response: type[BaseModel] | None = None
    ) -> None:
        self.shapes.append(BodyShape(path, key, schema, handler, self.name, response))
        self.component(schema)

    def component(self, schema: type[BaseModel]) -> str:
        """The OpenAPI component name of a request body (dialect-prefixed: several dialects have an EmbedRequest)."""
        name = f"{self.name}_{schema.__name__}"
        self.models[name] = schema
        return name

    def body(self, *schemas: type[BaseModel]) -> dict[str, Any]:
        """`openapi_extra` publishing the request body (for /docs and the schema fuzzer)."""
        refs = [{"$ref": f"#/components/schemas/{self.component(s)}"} for s in schemas]
        schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    # ---- errors -------------------------------------------------------------------------------

    def render(self, error: ServiceError) -> dict[str, Any]:
        """The error body this dialect's clients parse."""
        return {"detail": error.message, "type": error.kind, "param": error.param}

    def status(self, error: ServiceError) -> int:
        return self.invalid_status if isinstance(error, InvalidInput) else error.status

    def rename(self, error: ServiceError, fields: dict[str, str] | None = None) -> ServiceError:
        """The engine's error with this dialect's field names in its message and `param`."""
        names = self.fields if fields is None else fields
        if not names:
            return error
        pattern = re.compile(r"(?<![\w.`])(" + "|".join(map(re.escape, names)) + r")(?![\w])")
        error.message = pattern.sub(lambda m: names[m.group(1)], error.message)
        if error.param in names:
            error.param = names[error.param]
        return error

    async def run(self, request: Request, work: Awaitable[T], fields: dict[str, str] | None = None) -> T:
        """Await engine work (cancelled if the client leaves); its errors name this dialect's fields."""
        try:
            return await until_disconnect(request, work)
        except ServiceError as error:
            raise self.rename(error, fields) from None
