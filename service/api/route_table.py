"""The app's routes as one flat list of templates (for metric labels and tests that cover every route)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount, compile_path
from starlette.types import Scope

UNMATCHED = "<unmatched>"


@dataclass(frozen=True)
class RouteEntry:
    """One route: its template, methods (empty for mounts and websockets) and whether it is a mount."""

    path: str
    methods: frozenset[str]
    mount: bool
    pattern: re.Pattern[str]

    def matches(self, path: str) -> bool:
        if self.mount:
            prefix = self.path.rstrip("/")
            return path == prefix or path.startswith(prefix + "/")
        return self.pattern.match(path) is not None


def route_path(scope: Scope) -> str:
    """The request path as the app's routes see it (without a proxy's root_path prefix)."""
    path, root = str(scope.get("path", "/")), str(scope.get("root_path", ""))
    return path[len(root) :] or "/" if root and path.startswith(root) else path


def _flat_routes(app: FastAPI) -> Iterable[Any]:
    try:  # FastAPI >= 0.16x keeps included routers nested; this yields their routes with full paths
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies included routes into app.routes
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def route_table(app: FastAPI) -> list[RouteEntry]:
    """Every route of the app, mounts included; cached until routes are added."""
    version = len(app.router.routes)
    cached: tuple[int, list[RouteEntry]] | None = getattr(app.state, "route_table", None)
    if cached is not None and cached[0] == version:
        return cached[1]
    entries = []
    for route in _flat_routes(app):
        path = getattr(route, "path", None)
        if not path:
            continue
        mount = isinstance(getattr(route, "original_route", route), Mount)
        methods = frozenset(getattr(route, "methods", None) or ())
        entries.append(RouteEntry(path, methods, mount, compile_path(path)[0]))
    app.state.route_table = (version, entries)
    return entries


def route_label(app: FastAPI, path: str, method: str) -> str:
    """The template serving `path` ('/ui' for all of a mount), so metric labels stay few."""
    fallback = UNMATCHED
    for entry in route_table(app):
        if entry.matches(path):
            if not entry.methods or method in entry.methods:
                return entry.path
            if fallback == UNMATCHED:
                fallback = entry.path  # a 405 still belongs to its route
    return fallback
