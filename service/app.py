"""The app factory: settings → FastAPI app whose lifespan loads one Engine; `app` for uvicorn."""

from __future__ import annotations

import asyncio
import logging
import time
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
from service.api.loop_lag import LoopLagMonitor
from service.api.middleware import install_middleware, observe_engine
from service.api.native import Native
from service.api.openai import OpenAI
from service.api.registry import install_dialects
from service.api.responses import FastJSONResponse
from service.api.tei import TEI
from service.backends.registry import load_encoder, load_scorer
from service.backends.selection import choose_backend
from service.config import Settings
from service.engine import Engine

logger = logging.getLogger(__name__)

# Every wire dialect, registered once per app. The first is the default for paths no dialect owns;
# on shared paths (/embed, /rerank) the body's identifying key picks one, in this order.
DIALECTS: tuple[type[Dialect], ...] = (Native, OpenAI, Cohere, TEI, Infinity)


def build_engine(settings: Settings) -> Engine:
    """Load the embedding model (and reranker) once; blocking, so call it off the event loop."""
    backend, why = choose_backend(settings)
    logger.info("backend %s: %s", backend, why)
    started = time.perf_counter()
    encoder = load_encoder(backend, settings)
    scorer = load_scorer(backend, settings)
    engine = Engine(encoder, scorer, settings)
    engine.load_seconds = time.perf_counter() - started
    return engine


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready-to-serve app; the model loads in the lifespan, exactly once per process."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = await asyncio.to_thread(build_engine, settings)
        await engine.start()
        loop_lag = LoopLagMonitor()  # from here on: the model load's GIL-heavy imports are not serving lag
        loop_lag.start()
        app.state.loop_lag = loop_lag
        app.state.engine = engine
        observe_engine(app, engine, loop_lag)
        logger.info(
            "ready: %s on %s/%s in %.1fs", engine.info.name, engine.info.backend, engine.info.device,
            engine.load_seconds,
        )  # fmt: skip
        try:
            yield
        finally:
            await engine.stop(settings.shutdown_grace_s)
            await loop_lag.stop()

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
