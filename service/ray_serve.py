"""Ray Serve replicas of the same FastAPI app: one `create_app(settings)`, hence one Engine, per replica."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.app import create_app
from service.config import Settings
from service.ray_ready import READY_APP_NAME, READY_ROUTE, build_ready_probe

logger = logging.getLogger(__name__)

APP_NAME = "embedrank"
DEPLOYMENT_NAME = "Embedrank"
# Which replica answered: proves spreading in tests, and points at the replica whose /metrics you read.
REPLICA_HEADER = "X-Embedrank-Replica"
PID_HEADER = "X-Embedrank-Replica-Pid"
NODE_HEADER = "X-Embedrank-Node"
# Admission control (429 + Retry-After) lives in the app; Serve's own per-replica cap only has to be
# high enough never to queue in front of it.
DEFAULT_MAX_ONGOING = 256


def _serve() -> Any:
    try:
        from ray import serve
    except ImportError as exc:
        raise RuntimeError("Ray Serve is not installed: pip install 'embedrank[ray]'") from exc
    return serve


class ReplicaHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it breaks disconnect detection) adding replica headers."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, tagged)


def replica_settings(settings: Settings, num_cpus: float) -> Settings:
    """Ray reserves `num_cpus` for the replica: size torch's thread pool to it unless NUM_THREADS says otherwise."""
    if settings.num_threads:
        return settings
    return settings.model_copy(update={"num_threads": max(1, int(num_cpus))})


class EmbedrankReplica:
    """The deployment class; Serve calls `__serve_build_asgi_app__` inside each replica, then runs its lifespan."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: FastAPI | None = None

    def __serve_build_asgi_app__(self) -> FastAPI:
        import ray

        serve = _serve()
        context = serve.get_replica_context()
        # What Ray really reserved (the config file may override the options this was built with).
        assigned: dict[str, float] = ray.get_runtime_context().get_assigned_resources()  # type: ignore[no-untyped-call]
        num_cpus = assigned.get("CPU", 1.0)
        app = create_app(replica_settings(self._settings, num_cpus), load_before_serving=True)
        app.add_middleware(
            ReplicaHeaders,
            headers={
                REPLICA_HEADER: context.replica_id.unique_id,
                PID_HEADER: str(os.getpid()),
                NODE_HEADER: ray.get_runtime_context().get_node_id(),
            },
        )
        self._app = app
        return app

    async def check_health(self) -> None:
        """Serve's liveness probe, as /health answers it: a failed load or a dead worker raises, and Serve
        restarts the replica. (A replica's lifespan waits for its model, so Serve sends it no traffic
        before it is warm.)"""
        if self._app is None:
            return
        startup = getattr(self._app.state, "startup", None)
        if startup is not None and startup.failed:
            raise RuntimeError(f"the model failed to load: {startup.error}")
        engine = getattr(self._app.state, "engine", None)
        problems = engine.health() if engine is not None else []
        if problems:
            raise RuntimeError("unhealthy: " + "; ".join(problems))


def deployment_options(
    replicas: int | None = None,
    *,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    autoscaling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`serve.deployment` options: a fixed replica count, or autoscaling on ongoing requests."""
    options: dict[str, Any] = {
        "name": DEPLOYMENT_NAME,
        "ray_actor_options": {"num_cpus": num_cpus, "num_gpus": num_gpus},
        "max_ongoing_requests": DEFAULT_MAX_ONGOING,
        # Long enough for in-flight requests to finish on scale-down and upgrades (the app drains too).
        "graceful_shutdown_timeout_s": 30.0,
        "health_check_period_s": 5.0,
    }
    if autoscaling:
        options["autoscaling_config"] = autoscaling
    else:
        options["num_replicas"] = replicas or 1
    return options


def build_application(settings: Settings, **options: Any) -> Any:
    """A bound Serve application of the embedrank app (pass it to `serve.run`)."""
    serve = _serve()
    opts = deployment_options(**options)
    ingress = serve.ingress()(EmbedrankReplica)
    return serve.deployment(ingress, **opts).bind(settings)


def app_builder(args: dict[str, Any]) -> Any:
    """`import_path: service.ray_serve:app_builder` for `serve run/deploy`; `args.settings` = Settings fields.

    Replica counts, autoscaling and resources come from the config file's `deployments:` section.
    """
    settings = Settings(**dict(args.get("settings") or {}))
    return build_application(settings)


def run(settings: Settings, replicas: int = 1, *, num_cpus: float = 1.0, num_gpus: float = 0.0) -> None:
    """`embedrank serve --ray`: join RAY_ADDRESS (or start a local Ray), serve until SIGTERM/SIGINT, shut down."""
    serve = _serve()
    import ray

    ray.init(address=os.environ.get("RAY_ADDRESS") or None, log_to_driver=True)
    # Installed after ray.init, which sets handlers of its own: a signal just ends the wait below.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        # /ready first, on its own model-less deployment: it answers 503 with the stage while the replicas
        # load (Serve's proxy would hold a request to the app until one is warm), 200 once one runs.
        serve.run(build_ready_probe(APP_NAME, DEPLOYMENT_NAME), name=READY_APP_NAME, route_prefix=READY_ROUTE)
        app = build_application(settings, replicas=replicas, num_cpus=num_cpus, num_gpus=num_gpus)
        serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
        logger.info("Ray Serve: %d replica(s) on http://%s:%d", replicas, settings.host, settings.port)
        stop.wait()
        logger.info("stopping Ray Serve")
    finally:
        serve.shutdown()
        ray.shutdown()
