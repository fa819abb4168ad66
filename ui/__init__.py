"""The Gradio console at /ui: `mount_console(app, settings)`; gradio is imported on the first visit only."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

if TYPE_CHECKING:
    from service.config import Settings
    from ui.lazy import LazyConsole

logger = logging.getLogger(__name__)

MOUNT_PATH = "/ui"
LOGIN_MESSAGE = "This server needs its API key: any user name, and the API key as the password."


def mount_console(app: FastAPI, settings: Settings) -> bool:
    """Mount the console at /ui; False, with one log line, when gradio is not installed.

    Gradio is not imported here: a light handler at /ui builds the console on its first visit
    (`ui.lazy.LazyConsole`), so start-up time and memory do not pay for a console nobody opens.

    With API_KEY set the console has its own login (Gradio auth: any user name, the API key as the
    password) that guards the page and every Gradio route under /ui; the API's header check is
    left to it for /ui, since a browser cannot send `Authorization: Bearer` on its own.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # local-first: no telemetry calls
    if importlib.util.find_spec("gradio") is None:
        logger.info("console off: gradio is not installed (pip install 'embedrank[ui]')")
        return False
    from ui.lazy import LazyConsole

    keys = settings.api_keys
    console = LazyConsole(lambda: _build_console(app, settings, keys))
    app.mount(MOUNT_PATH, console)
    app.state.console_loader = console
    _attach_loop(app, console)
    if keys:
        _delegate_login(app, console)
    login = " (log in with the API key)" if keys else ""
    logger.info("console at http://%s:%d%s/%s (built on first visit)", settings.host, settings.port, MOUNT_PATH, login)
    return True


def _build_console(app: FastAPI, settings: Settings, keys: list[str]) -> FastAPI:
    """Import gradio, build the Blocks and mount them on a bare parent app (blocking; the first visit runs it)."""
    import gradio as gr

    from ui.bridge import EngineBridge
    from ui.console import build_console
    from ui.handlers import ConsoleHandlers
    from ui.search import ConsoleStore, SearchHandlers

    bridge = EngineBridge(app)
    bridge.loop = getattr(app.state, "console_loop", None)
    handlers = ConsoleHandlers(bridge, settings)
    parent = FastAPI()
    parent.user_middleware = app.user_middleware  # Gradio leaves CORS to the parent app when it sets CORS
    gr.mount_gradio_app(
        parent,
        build_console(handlers, SearchHandlers(bridge, ConsoleStore.from_settings(settings))),
        path=MOUNT_PATH,
        auth=_key_login(keys) if keys else None,
        auth_message=LOGIN_MESSAGE if keys else None,
        footer_links=["api", "settings"],
        run_history=False,
        theme=gr.themes.Soft(),
    )
    app.state.console = handlers
    return parent


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


def _delegate_login(app: FastAPI, console: LazyConsole) -> None:
    try:
        from service.api.auth import LoginGate, delegate_auth
    except ImportError:  # a build without the API-key middleware: nothing else guards /ui
        return
    from starlette.requests import HTTPConnection
    from starlette.types import Scope

    def logged_in(scope: Scope) -> bool:
        """A session cookie that Gradio's /login issued (any other cookie is no login; none before the
        console is built, since its login page is what builds it)."""
        gradio_app = console.gradio_app
        if gradio_app is None:
            return False
        cookies = HTTPConnection(scope).cookies
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return token is not None and token in gradio_app.tokens

    delegate_auth(app, MOUNT_PATH, LoginGate(LOGIN_PAGE_PATHS, LOGIN_PAGE_PREFIXES, logged_in))


def _attach_loop(app: FastAPI, console: LazyConsole) -> None:
    """Remember which event loop owns the Engine (the one the app's lifespan runs on) for the console's
    bridge, and close the console's own lifespan when the app's ends."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        app.state.console_loop = asyncio.get_running_loop()
        try:
            async with inner(app_) as state:
                yield state
        finally:
            await console.close()
            handlers = getattr(app.state, "console", None)
            if handlers is not None:
                handlers.bridge.loop = None
            app.state.console_loop = None

    app.router.lifespan_context = lifespan


__all__ = ["MOUNT_PATH", "mount_console"]
