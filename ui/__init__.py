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
        _delegate_login(app)
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


def _delegate_login(app: FastAPI) -> None:
    try:
        from service.api.auth import delegate_auth
    except ImportError:  # a build without the API-key middleware: nothing else guards /ui
        return
    delegate_auth(app, MOUNT_PATH)


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
