"""The one place dialects are registered: their routers, the shared paths they split by body, their docs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.routing import compile_path

from service.api.dialect import BodyShape, Dialect
from service.api.dispatch import ShapeDispatcher


class _Fallback(Dialect):
    name = "native"


FALLBACK = _Fallback()  # errors where no dialect is registered (a bare app, a mounted sub-app)

_SHARED_SUMMARIES = {
    "/embed": "Embed texts: the native body {texts} or TEI's {inputs}",
    "/rerank": "Rank passages: native {query, passages}, TEI {query, texts} or Infinity/vLLM {query, documents}",
}


class DialectRegistry:
    """The app's dialects: which speaks a path before the body is read, and what each field is called where."""

    def __init__(self, dialects: Sequence[Dialect]) -> None:
        self.dialects = list(dialects)
        self.by_name = {d.name: d for d in dialects}
        self.default = self.dialects[0]
        self._exact: list[tuple[re.Pattern[str], Dialect]] = []
        for dialect in dialects:
            for route in dialect.router.routes:
                self._exact.append((compile_path(getattr(route, "path", ""))[0], dialect))
        self._prefixes = sorted(
            ((prefix.rstrip("/"), d) for d in dialects for prefix in d.prefixes), key=lambda p: -len(p[0])
        )
        self.homes: dict[str, str] = {}
        for dialect in dialects:
            for key, home in dialect.homes.items():
                self.homes[key] = f"{self.homes[key]} and {home}" if key in self.homes else home
        self.shared: dict[str, list[BodyShape]] = {}
        for dialect in dialects:
            for shape in dialect.shapes:
                self.shared.setdefault(shape.path, []).append(shape)

    def for_path(self, path: str) -> Dialect:
        """A one-dialect route's dialect, else the longest declared prefix's, else native (shared paths too)."""
        for pattern, dialect in self._exact:
            if pattern.match(path):
                return dialect
        for prefix, dialect in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return dialect
        return self.default

    def openapi_components(self) -> dict[str, Any]:
        """Every published request body (dialect-prefixed names) and the models nested in it."""
        components: dict[str, Any] = {}
        for dialect in self.dialects:
            for name, model in dialect.models.items():
                prefix = f"{dialect.name}_"
                schema = model.model_json_schema(ref_template=f"#/components/schemas/{prefix}{{model}}")
                for nested, definition in schema.pop("$defs", {}).items():
                    components[prefix + nested] = definition
                components[name] = schema
        return components


def install_dialects(app: FastAPI, dialects: Sequence[Dialect]) -> DialectRegistry:
    """Include every dialect's routes, one dispatching route per shared path, and their bodies in /docs."""
    registry = DialectRegistry(dialects)
    app.state.dialects = registry
    for dialect in dialects:
        app.include_router(dialect.router)
    for path, shapes in registry.shared.items():
        _add_shared_route(app, registry, path, shapes)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = original()
            document.setdefault("components", {}).setdefault("schemas", {}).update(registry.openapi_components())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return registry


def _add_shared_route(app: FastAPI, registry: DialectRegistry, path: str, shapes: list[BodyShape]) -> None:
    dispatcher = ShapeDispatcher(path, shapes, registry.homes)
    refs = [{"$ref": f"#/components/schemas/{s.dialect}_{s.schema.__name__}"} for s in shapes]
    body = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": refs}}}}}

    async def shared(request: Request) -> Response:
        return await dispatcher(request)

    app.add_api_route(
        path,
        shared,
        methods=["POST"],
        summary=_SHARED_SUMMARIES.get(path, f"Shared by {', '.join(s.dialect for s in shapes)}"),
        openapi_extra=body,
        tags=list(dict.fromkeys(s.dialect for s in shapes)),
        response_model=shapes[0].response,
        name=f"shared{path.replace('/', '_')}",
    )
