"""JSON routes take JSON only: 415 for another Content-Type or encoding; gzip bodies decoded within the limit."""

from __future__ import annotations

import logging
import zlib

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import render_error
from service.api.route_table import route_path, route_table
from service.errors import InputTooLarge, InvalidInput, UnsupportedMediaType

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_HELP = "send the body as JSON with 'Content-Type: application/json'"


def is_json_media_type(content_type: str) -> bool:
    """application/json or application/<anything>+json, charset (if any) UTF-8: JSON is UTF-8 (RFC 8259)."""
    media, *params = [part.strip().lower() for part in content_type.split(";")]
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True


class JsonBodyMiddleware:
    """Guards the app's own body routes (mounted apps such as the console keep their parsers).

    A browser may POST `text/plain`, a form or multipart to any origin without a CORS preflight;
    refusing them here stops a web page from spending this server's compute on a visitor's behalf.
    Install it inside the body-size limit: raw bytes are counted there, decoded bytes here.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, fastapi_app: FastAPI) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.fastapi_app = fastapi_app

    def guarded(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            return False
        path, method = route_path(scope), str(scope["method"])
        # Only our own routes that take this method: 404/405 say more than 415 would, and mounted
        # apps (the console's login form, uploads) parse their own bodies.
        return any(
            not entry.mount and method in entry.methods and entry.matches(path)
            for entry in route_table(self.fastapi_app)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.guarded(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-length", "0" if "transfer-encoding" not in headers else "") == "0":
            await self.app(scope, receive, send)  # no body: nothing to refuse (the route says what is missing)
            return
        content_type = headers.get("content-type", "")
        if not is_json_media_type(content_type):
            got = f"'{content_type}'" if content_type else "no Content-Type"
            await self.refuse(scope, receive, send, UnsupportedMediaType(f"got {got}; {JSON_HELP}"))
            return
        encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",") if e.strip()]
        encodings = [e for e in encodings if e != "identity"]
        if not encodings:
            await self.app(scope, receive, send)
            return
        if encodings not in (["gzip"], ["x-gzip"]):
            message = f"Content-Encoding '{', '.join(encodings)}' is not supported; send gzip or no encoding"
            await self.refuse(scope, receive, send, UnsupportedMediaType(message))
            return
        await self.app(self.decoded_scope(scope), self.gunzip(receive), send)

    @staticmethod
    def decoded_scope(scope: Scope) -> Scope:
        """The route sees a plain body: no Content-Encoding, no (compressed) Content-Length."""
        dropped = (b"content-encoding", b"content-length")
        return {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() not in dropped]}

    def gunzip(self, receive: Receive) -> Receive:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing only
        produced = 0
        limit = self.max_bytes

        async def decoded_receive() -> Message:
            nonlocal produced
            message = await receive()
            if message["type"] != "http.request":
                return message
            try:
                # max_length: a bomb never expands past the limit in memory, whatever its ratio.
                body = decoder.decompress(message.get("body", b""), limit + 1 - produced)
                ended = not message.get("more_body", False)
                if ended and not decoder.eof and not decoder.unconsumed_tail:
                    raise InvalidInput("the gzip body is truncated")
            except zlib.error as exc:
                raise InvalidInput(f"the body is not valid gzip: {exc}") from exc
            produced += len(body)
            if produced > limit or decoder.unconsumed_tail:
                raise InputTooLarge(f"the request body decompresses to over {limit} bytes; at most {limit} accepted")
            return {**message, "body": body}

        return decoded_receive

    @staticmethod
    async def refuse(scope: Scope, receive: Receive, send: Send, error: UnsupportedMediaType) -> None:
        logger.info("415 %s %s: %s", scope.get("method"), route_path(scope), error.message)
        await render_error(scope, error)(scope, receive, send)
