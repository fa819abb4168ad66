"""`/ready` under `embedrank serve --ray`, answered beside the replicas so that it never waits for one.

Replicas load their model before they serve (Serve routes to a replica as soon as its lifespan has run), so
while none is warm Serve's proxy holds every request to the app. This tiny deployment (no model, no CPU
reserved) owns the `/ready` route instead and answers from Serve's own view of the app: 503 with the stage
while no replica runs, 200 once one does; the replicas keep every other route.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

READY_APP_NAME = "embedrank-ready"
READY_ROUTE = "/ready"


def readiness(app_status: Any, deployment_name: str) -> tuple[int, dict[str, str]]:
    """(HTTP status, body) for an application's `serve.status()` entry (None: not deployed yet)."""
    if app_status is None:
        return 503, {"status": "loading", "stage": "deploying replicas", "type": "unavailable"}
    deployment = app_status.deployments.get(deployment_name)
    states: dict[str, int] = dict(deployment.replica_states) if deployment is not None else {}
    running, total = states.get("RUNNING", 0), sum(states.values())
    if running:
        return 200, {"status": "ready", "replicas": f"{running} of {total} running"}
    if str(app_status.status).endswith("DEPLOY_FAILED"):
        # Serve's message holds the replica's traceback (paths, settings): for `serve status`, not for an
        # unauthenticated route.
        detail = "the app failed to deploy: see `serve status` or the replica logs"
        return 503, {"status": "failed", "stage": "failed", "detail": detail, "type": "unavailable"}
    stage = f"loading model in replicas (0 of {total} running)" if total else "starting replicas"
    return 503, {"status": "loading", "stage": stage, "type": "unavailable"}


class ReadyProbe:
    """The deployment: Serve hands it each `/ready` request (sync: `serve.status()` asks the controller)."""

    def __init__(self, app_name: str, deployment_name: str) -> None:
        self.app_name, self.deployment_name = app_name, deployment_name

    def __call__(self, request: Request) -> JSONResponse:
        from ray import serve

        status, body = readiness(serve.status().applications.get(self.app_name), self.deployment_name)
        headers = {"Retry-After": "1"} if status == 503 else {}
        return JSONResponse(body, status_code=status, headers=headers)


def build_ready_probe(app_name: str, deployment_name: str) -> Any:
    """A bound Serve application of the probe: deploy it with `route_prefix=READY_ROUTE` before the app."""
    from ray import serve

    options: dict[str, Any] = {"name": "EmbedrankReady", "ray_actor_options": {"num_cpus": 0}}
    deployment: Any = serve.deployment(ReadyProbe, **options)  # an overload mypy cannot pick from **options
    return deployment.bind(app_name, deployment_name)
