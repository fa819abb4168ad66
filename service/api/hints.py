"""Near-miss routes: a 404 or 405 names the route the caller probably meant."""

from __future__ import annotations

from difflib import get_close_matches

from fastapi import FastAPI

from service.api.route_table import route_table

# Paths other servers use for what a route here does (Ollama, older TEI/OpenAI guides).
_ALIASES = {
    "/api/embed": "/embed",
    "/api/embeddings": "/v1/embeddings",
    "/embedding": "/embeddings",
    "/v1/embedding": "/v1/embeddings",
    "/v2/embeddings": "/v2/embed",
    "/v1/rerankings": "/v1/rerank",
    "/reranking": "/rerank",
    "/v1/models/": "/v1/models",
}


def route_hint(app: FastAPI, method: str, path: str) -> str:
    """' Did you mean POST /v1/embeddings?' for a near-miss path; ' It takes POST.' for a wrong method."""
    routes: dict[str, set[str]] = {}
    for entry in route_table(app):
        if not entry.mount and entry.methods:
            routes.setdefault(entry.path, set()).update(entry.methods - {"HEAD"})
    if path in routes:  # the path exists: the method was wrong
        return f" {path} takes {' or '.join(sorted(routes[path]))}, not {method}."
    plain = [p for p in routes if "{" not in p and p != "/"]
    wanted = _ALIASES.get(path.rstrip("/") or path) or _ALIASES.get(path)
    matches = [wanted] if wanted in routes else get_close_matches(path.rstrip("/"), plain, n=2, cutoff=0.75)
    if not matches:
        return " See /docs for every route."
    named = " or ".join(f"{' or '.join(sorted(routes[m]))} {m}" for m in matches)
    return f" Did you mean {named}?"
