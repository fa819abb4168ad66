"""The Gradio console at /ui: `mount_console(app, settings)`; gradio is imported only when it mounts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

if TYPE_CHECKING:
    from service.config import Settings
    from ui.bridge import EngineBridge

logger = logging.getLogger(__name__)

MOUNT_PATH = "/ui"
LOGIN_MESSAGE = "This server needs its API key: any user name, and the API key as the password."


def mount_console(app: FastAPI, settings: Settings) -> bool:
    """Mount the console at /ui; False, with one log line, when gradio is not installed.

    With API_KEY set the console has its own login (Gradio auth: any user name, the API key as the
    password) that guards the page and every Gradio route under /ui; the API's header check is
    left to it for /ui, since a browser cannot send `Authorization: Bearer` on its own.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # local-first: no telemetry calls
    try:
        import gradio as gr
    except ImportError:
        logger.info("console off: gradio is not installed (pip install 'embedrank[ui]')")
        return False

    from ui.bridge import EngineBridge
    from ui.console import build_console
    from ui.handlers import ConsoleHandlers, api_keys
    from ui.search import ConsoleStore, SearchHandlers

    bridge = EngineBridge(app)
    handlers = ConsoleHandlers(bridge, settings)
    keys = api_keys(settings)
    gr.mount_gradio_app(
        app,
        build_console(handlers, SearchHandlers(bridge, ConsoleStore.from_settings(settings))),
        path=MOUNT_PATH,
        auth=_key_login(keys) if keys else None,
        auth_message=LOGIN_MESSAGE if keys else None,
        footer_links=["api", "settings"],
        run_history=False,
        theme=gr.themes.Soft(),
    )
    _attach_loop(app, bridge)
    if keys:
        _delegate_login(app, _gradio_app(app))
    app.state.console = handlers
    login = " (log in with the API key)" if keys else ""
    logger.info("console at http://%s:%d%s/%s", settings.host, settings.port, MOUNT_PATH, login)
    return True


def _key_login(keys: list[str]) -> Callable[[str, str], bool]:
    digests = [hashlib.sha256(key.encode()).digest() for key in keys]

    def check(username: str, password: str) -> bool:
        candidate = hashlib.sha256((password or "").encode()).digest()
        matched = False
        for digest in digests:  # no early exit: the time taken does not tell which key matched
            matched |= hmac.compare_digest(candidate, digest)
        return matched

    return check


# What Gradio's login page loads before anyone has logged in; every other console route (heartbeat,
# queue, call, openapi.json, app_id, reset, cancel, startup-events, config...) needs the session or the key.
LOGIN_PAGE_PATHS = frozenset(
    {"", "/", "/login", "/login/", "/favicon.ico", "/theme.css", "/gradio_api/theme.css", "/robots.txt",
     "/manifest.json"}
)  # fmt: skip
LOGIN_PAGE_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon")


def _gradio_app(app: FastAPI) -> Any:
    from starlette.routing import Mount

    return next(route.app for route in app.routes if isinstance(route, Mount) and route.path == MOUNT_PATH)


def _delegate_login(app: FastAPI, gradio_app: Any) -> None:
    try:
        from service.api.auth import LoginGate, delegate_auth
    except ImportError:  # a build without the API-key middleware: nothing else guards /ui
        return
    from starlette.requests import HTTPConnection
    from starlette.types import Scope

    def logged_in(scope: Scope) -> bool:
        """A session cookie that Gradio's /login issued (any other cookie is no login)."""
        cookies = HTTPConnection(scope).cookies
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return token is not None and token in gradio_app.tokens

    delegate_auth(app, MOUNT_PATH, LoginGate(LOGIN_PAGE_PATHS, LOGIN_PAGE_PREFIXES, logged_in))


def _attach_loop(app: FastAPI, bridge: EngineBridge) -> None:
    """Tell the bridge which event loop owns the Engine: the one the app's lifespan runs on."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        bridge.loop = asyncio.get_running_loop()
        try:
            async with inner(app_) as state:
                yield state
        finally:
            bridge.loop = None

    app.router.lifespan_context = lifespan


__all__ = ["MOUNT_PATH", "mount_console"]
