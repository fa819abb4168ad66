"""
title: embedrank reranker
author: embedrank
version: 0.3.0
required_open_webui_version: 0.6.0
license: MIT
description: Reranks retrieved file/knowledge chunks with an embedrank server and injects the best as sources.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)

# Open WebUI's RAG runs after inlet filters; with file_handler set it drops the chat's files after our inlet,
# so the files are retrieved once (by us) instead of twice. Read from the Filter instance; kept here as well.
file_handler = True

Emitter = Callable[[dict[str, Any]], Awaitable[None]]


class ResponseTooLarge(Exception):
    """A server sent more than max_response_bytes: reading stopped there."""


class CallTimeout(Exception):
    """A call did not finish (connect to last byte) within its total deadline."""


DEFAULT_TEMPLATE = (
    "### Task\nAnswer the user's query with the help of the context below. When you use a passage, cite it "
    "as [id] with the id of its <source> tag. If the context does not contain the answer, say so.\n\n"
    "<context>\n{{CONTEXT}}\n</context>\n"
)


@dataclass
class Chunk:
    """One retrieved passage and where it came from."""

    text: str
    metadata: dict[str, Any]
    distance: float | None
    item: dict[str, Any]
    score: float | None = None

    @property
    def source_key(self) -> str:
        return str(self.metadata.get("source") or self.item.get("id") or self.item.get("name") or "N/A")

    @property
    def source_name(self) -> str:
        return str(self.item.get("name") or self.metadata.get("name") or self.source_key)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in (m for m in reversed(messages) if m.get("role") == "user"):
        content = message.get("content", "")
        parts = content if isinstance(content, list) else [{"type": "text", "text": str(content)}]
        return " ".join(p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text")
    return ""


def collections_of(item: dict[str, Any]) -> list[str]:
    """Vector-store collection names for one chat file item, by Open WebUI's own naming rules."""
    kind = item.get("type")
    if kind == "file":
        return [str(item["id"]) if item.get("legacy") else f"file-{item['id']}"] if item.get("id") else []
    if kind == "collection":
        if item.get("legacy"):
            return [str(name) for name in item.get("collection_names", [])]
        return [str(item["id"])] if item.get("id") else []
    return [str(item["collection_name"])] if item.get("collection_name") else []


def inline_chunk(item: dict[str, Any]) -> Chunk | None:
    """Items that carry their text (temporary-chat uploads) need no retrieval call."""
    if item.get("type") != "text":
        return None
    text = ((item.get("file") or {}).get("data") or {}).get("content") or item.get("content")
    meta = {"name": item.get("name"), "file_id": item.get("id")}
    return Chunk(str(text), meta, None, item) if text else None


def user_token(request: Any, fallback: str) -> str:
    """The chatting user's Open WebUI token, so retrieval honours that user's access rights."""
    credentials = getattr(getattr(getattr(request, "state", None), "token", None), "credentials", None)
    if credentials:
        return str(credentials)
    auth = str((getattr(request, "headers", None) or {}).get("authorization", ""))
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    cookie = (getattr(request, "cookies", None) or {}).get("token")
    return str(cookie) if cookie else fallback


class Filter:
    file_handler = True

    class Valves(BaseModel):
        priority: int = Field(0, description="Filter order; lower runs first.")
        embedrank_url: str = Field(
            "http://embedrank:9000", description="embedrank base URL (no /v1), as Open WebUI's server reaches it."
        )
        embedrank_api_key: str = Field("", description="embedrank API_KEY, sent as a Bearer token.")
        rerank_api: Literal["cohere", "native"] = Field("cohere", description="/v1/rerank or native /rerank.")
        top_k: int = Field(5, ge=1, description="Passages injected into the chat.")
        candidate_count: int = Field(20, ge=1, description="Chunks fetched per file/collection.")
        score_threshold: float = Field(0.0, description="Drop reranked passages scoring below this.")
        openwebui_url: str = Field("http://localhost:8080", description="This Open WebUI ('' = request URL).")
        openwebui_api_key: str = Field("", description="Used only when the user's token is not found.")
        timeout_s: float = Field(
            15.0, gt=0, description="Total deadline of each HTTP call, connect to last byte, seconds."
        )
        max_response_bytes: int = Field(
            4 * 1024 * 1024, ge=1024, description="Largest response read from a server; reading stops past it."
        )
        inject_into: Literal["user", "system"] = Field("user", description="Message given the context.")
        template: str = Field(DEFAULT_TEMPLATE, description="Context prompt with {{CONTEXT}} (and {{QUERY}}).")

    def __init__(self) -> None:
        self.valves = self.Valves()

    async def inlet(
        self,
        body: dict[str, Any],
        __user__: dict[str, Any] | None = None,
        __event_emitter__: Emitter | None = None,
        __request__: Any = None,
    ) -> dict[str, Any]:
        items = body.get("files") or (body.get("metadata") or {}).get("files") or []
        query = last_user_text(body.get("messages", []))
        if not items or not query:
            return body

        async def emit(kind: str, data: dict[str, Any]) -> None:
            if __event_emitter__:
                await __event_emitter__({"type": kind, "data": data})

        async def status(description: str, done: bool) -> None:
            await emit("status", {"description": description, "done": done})

        valves = self.valves
        await status(f"Retrieving passages from {len(items)} file(s) and collection(s)", False)
        async with httpx.AsyncClient(timeout=valves.timeout_s) as client:
            chunks, failures = await self._retrieve(client, items, query, __request__)
            if not chunks:
                reason = f" ({failures[0]})" if failures else ""
                await status(f"No passages retrieved{reason}; answering without document context", True)
                return body
            await status(f"Reranking {len(chunks)} passages with embedrank", False)
            try:
                ranked = await self._rerank(client, query, chunks)
            except Exception as exc:  # any failure of our service must leave the chat working
                log.warning("embedrank rerank failed: %r", exc)
                winners = chunks[: valves.top_k]
                note = f"embedrank unavailable ({describe(exc)}); kept Open WebUI's order"
            else:
                winners = [c for c in ranked if (c.score or 0.0) >= valves.score_threshold][: valves.top_k]
                note = f"Reranked {len(chunks)} passages with embedrank"
        if not winners:
            await status(f"{note}; none scored above {valves.score_threshold}", True)
            return body
        self._inject(body, winners, query)
        for source in citations(winners):
            await emit("source", source)
        await status(f"{note}; using the top {len(winners)}", True)
        return body

    async def _retrieve(
        self, client: httpx.AsyncClient, items: list[dict[str, Any]], query: str, request: Any
    ) -> tuple[list[Chunk], list[str]]:
        """Candidates in Open WebUI's order (best vector distance first), de-duplicated by text."""
        valves = self.valves
        base = (valves.openwebui_url or str(getattr(request, "base_url", "") or "")).rstrip("/")
        headers = {"Authorization": f"Bearer {user_token(request, valves.openwebui_api_key)}"}

        async def one(item: dict[str, Any]) -> list[Chunk]:
            inline = inline_chunk(item)
            if inline:
                return [inline]
            names = collections_of(item)
            if not names:
                return []
            # One query/doc call per collection, hybrid off: pure vector candidates. (Open WebUI 0.12's
            # query/collection re-enters hybrid search when it is on globally and cuts to its top_k_reranker.)
            url = f"{base}/api/v1/retrieval/query/doc"
            found: list[Chunk] = []
            for name in names:
                payload = {"collection_name": name, "query": query, "k": valves.candidate_count, "hybrid": False}
                data = await self._post_json(client, url, payload, headers)
                found.extend(parse_query_result(data if isinstance(data, dict) else {}, item))
            return found

        results = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
        chunks: dict[str, Chunk] = {}
        failures: list[str] = []
        for result in results:
            if isinstance(result, BaseException):
                failures.append(describe(result))
                continue
            for chunk in result:
                known = chunks.get(chunk.text)
                if known is None or (chunk.distance or 0.0) > (known.distance or 0.0):
                    chunks[chunk.text] = chunk
        # Inline items have no distance: they sort first, as Open WebUI puts them in full.
        best_first = sorted(chunks.values(), key=lambda c: -1e9 if c.distance is None else -c.distance)
        return best_first, failures

    async def _post_json(self, client: httpx.AsyncClient, url: str, payload: Any, headers: dict[str, str]) -> Any:
        """POST and parse the JSON answer within ONE deadline and a size cap, whatever the server does:
        a per-read timeout lets a server that drips a byte at a time hold the chat for ever."""
        limit = self.valves.max_response_bytes

        async def call() -> Any:
            async with client.stream("POST", url, json=payload, headers=headers) as response:
                response.raise_for_status()
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise ResponseTooLarge(f"{declared} bytes declared")
                body = bytearray()
                async for part in response.aiter_bytes():
                    body += part
                    if len(body) > limit:
                        raise ResponseTooLarge(f"over {limit} bytes")
            return json.loads(bytes(body))

        try:
            return await asyncio.wait_for(call(), timeout=self.valves.timeout_s)
        except asyncio.TimeoutError as exc:
            raise CallTimeout(f"no complete answer within {self.valves.timeout_s:g} s") from exc

    async def _rerank(self, client: httpx.AsyncClient, query: str, chunks: list[Chunk]) -> list[Chunk]:
        valves = self.valves
        base = valves.embedrank_url.rstrip("/")
        headers = {"Authorization": f"Bearer {valves.embedrank_api_key}"} if valves.embedrank_api_key else {}
        texts = [c.text for c in chunks]
        if valves.rerank_api == "cohere":
            payload: dict[str, Any] = {"query": query, "documents": texts, "top_n": len(texts)}
            data = await self._post_json(client, f"{base}/v1/rerank", payload, headers)
            score_key = "relevance_score"
        else:
            payload = {"query": query, "passages": texts, "top_k": len(texts)}
            data = await self._post_json(client, f"{base}/rerank", payload, headers)
            score_key = "score"
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise ValueError("rerank answer has no results list")
        return ranked_chunks(chunks, results, score_key)

    def _inject(self, body: dict[str, Any], winners: list[Chunk], query: str) -> None:
        context = render_context(winners)
        prompt = self.valves.template.replace("{{CONTEXT}}", context).replace("{{QUERY}}", query)
        messages: list[dict[str, Any]] = body.setdefault("messages", [])
        if self.valves.inject_into == "system":
            system = next((m for m in messages if m.get("role") == "system"), None)
            if system is None:
                messages.insert(0, {"role": "system", "content": prompt})
            else:
                system["content"] = f"{system.get('content', '')}\n\n{prompt}".strip()
            return
        user = next(m for m in reversed(messages) if m.get("role") == "user")
        content = user.get("content", "")
        if isinstance(content, list):
            part = next((p for p in content if isinstance(p, dict) and p.get("type") == "text"), None)
            if part is None:
                content.insert(0, {"type": "text", "text": prompt})
            else:
                part["text"] = f"{prompt}\n{part.get('text', '')}"
        else:
            user["content"] = f"{prompt}\n{content}"


def parse_query_result(data: dict[str, Any], item: dict[str, Any]) -> list[Chunk]:
    """Open WebUI answers {documents, metadatas, distances}, each a list holding one list per query."""
    documents = (data.get("documents") or [[]])[0] or []
    metadatas = (data.get("metadatas") or [[]])[0] or []
    distances = (data.get("distances") or [[]])[0] or []
    chunks = []
    for i, text in enumerate(documents):
        if not isinstance(text, str) or not text.strip():
            continue
        metadata = metadatas[i] if i < len(metadatas) and isinstance(metadatas[i], dict) else {}
        distance = float(distances[i]) if i < len(distances) and distances[i] is not None else None
        chunks.append(Chunk(text, metadata, distance, item))
    return chunks


def ranked_chunks(chunks: list[Chunk], results: list[Any], score_key: str) -> list[Chunk]:
    """The reranker's order, trusting nothing: indexes out of range, repeated or not integers and
    scores that are not finite numbers are dropped, so no passage is injected twice or invented."""
    ranked: list[Chunk] = []
    seen: set[int] = set()
    for result in results:
        if not isinstance(result, dict):
            continue
        index, score = result.get("index"), result.get(score_key)
        if type(index) is not int or not 0 <= index < len(chunks) or index in seen:
            continue
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            continue
        seen.add(index)
        chunk = chunks[index]
        chunk.score = float(score)
        ranked.append(chunk)
    if not ranked and chunks:
        raise ValueError("rerank answer named no valid passage")
    return sorted(ranked, key=lambda c: c.score or 0.0, reverse=True)


def render_context(winners: list[Chunk]) -> str:
    """Open WebUI's own context markup, so its [id] citation links work on our passages too.

    Names and passage text are escaped: a passage holding `</source><source id="9">` must not forge
    a source (or close the context) in the prompt."""
    ids: dict[str, int] = {}
    for chunk in winners:
        ids.setdefault(chunk.source_key, len(ids) + 1)
    return "\n".join(
        f'<source id="{ids[c.source_key]}" name="{html.escape(c.source_name, quote=True)}">'
        f"{html.escape(c.text, quote=False)}</source>"
        for c in winners
    )


def citations(winners: list[Chunk]) -> list[dict[str, Any]]:
    """One `source` event payload per cited source, numbered like the context (first use first)."""
    grouped: dict[str, dict[str, Any]] = {}
    for chunk in winners:
        source = {"id": chunk.source_key, "name": chunk.source_name}
        entry = grouped.setdefault(
            chunk.source_key, {"source": source, "document": [], "metadata": [], "distances": []}
        )
        entry["document"].append(chunk.text)
        entry["metadata"].append({**chunk.metadata, "source": chunk.source_key, "name": chunk.source_name})
        entry["distances"].append(chunk.score if chunk.score is not None else chunk.distance)
    return list(grouped.values())


def describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.path}"
    if isinstance(exc, (httpx.TimeoutException, CallTimeout)):
        return "timed out"
    if isinstance(exc, ResponseTooLarge):
        return f"response too large: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    return type(exc).__name__
