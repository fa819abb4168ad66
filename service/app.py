"""The app factory: settings → FastAPI app whose lifespan loads one Engine; `app` for uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__
from service.api import health
from service.api.cohere import Cohere
from service.api.dialect import Dialect
from service.api.errors import install_error_handlers
from service.api.home import home_router
from service.api.infinity import Infinity
from service.api.middleware import install_middleware
from service.api.native import Native
from service.api.openai import OpenAI
from service.api.registry import install_dialects
from service.api.responses import FastJSONResponse
from service.api.startup import Startup
from service.api.tei import TEI
from service.config import Settings

logger = logging.getLogger(__name__)

# Every wire dialect, registered once per app. The first is the default for paths no dialect owns;
# on shared paths (/embed, /rerank) the body's identifying key picks one, in this order.
DIALECTS: tuple[type[Dialect], ...] = (Native, OpenAI, Cohere, TEI, Infinity)


def create_app(settings: Settings | None = None, *, load_before_serving: bool = False) -> FastAPI:
    """The app; its lifespan starts loading the model in the background, exactly once per process.

    `app.state.startup` tells how far loading got; `await app.state.startup.wait()` waits for it.
    `load_before_serving` makes the lifespan wait for the warm model instead (Ray Serve replicas: Serve
    routes to a replica as soon as its lifespan has started, so a replacement replica that bound first
    would answer 503 to its share of the traffic while the other replicas could have served it).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Bind first, load after: the lifespan returns at once, so the server binds its port and
        # answers /health and /ready (503 with the stage) while the model loads in the background.
        startup: Startup = app.state.startup
        startup.begin(app)
        if load_before_serving:
            await startup.wait()  # a failed load raises: Serve then replaces the replica
        try:
            yield
        finally:
            await startup.stop(settings.shutdown_grace_s)

    app = FastAPI(
        title="embedrank",
        version=__version__,
        description=(
            "Local-first embeddings and reranking: one model, the native, OpenAI, Cohere/Jina, TEI and "
            "Infinity/vLLM APIs."
        ),
        lifespan=lifespan,
        default_response_class=FastJSONResponse,
    )
    app.state.settings = settings
    app.state.startup = Startup(settings)
    install_error_handlers(app)
    install_middleware(app, settings)
    app.include_router(health.router)
    install_dialects(app, [dialect() for dialect in DIALECTS])
    console = False
    if settings.ui_enabled:
        from ui import mount_console  # gradio is imported only inside, and only if installed

        console = mount_console(app, settings)
    app.include_router(home_router(console))
    return app


def _app_from_env() -> FastAPI:
    from service.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def __getattr__(name: str) -> FastAPI:
    # `uvicorn service.app:app` reads settings at import time of `app` only, not of this module,
    # so tests can import create_app without building a second app.
    if name == "app":
        return _app_from_env()
    raise AttributeError(name)
