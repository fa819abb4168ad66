"""The Serve layer's own parts, without a cluster: replica headers, thread sizing, deployment options."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service.config import Settings
from service.ray_ready import readiness
from service.ray_serve import DEPLOYMENT_NAME, REPLICA_HEADER, ReplicaHeaders, deployment_options, replica_settings


async def test_replica_headers_tag_every_response_errors_included() -> None:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(ReplicaHeaders, headers={REPLICA_HEADER: "abc123"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        good, missing = await client.get("/ok"), await client.get("/nope")
    assert good.status_code == 200 and good.headers[REPLICA_HEADER] == "abc123"
    assert missing.status_code == 404 and missing.headers[REPLICA_HEADER] == "abc123"


def test_threads_follow_reserved_cpus_unless_set() -> None:
    assert replica_settings(Settings(), 4.0).num_threads == 4
    assert replica_settings(Settings(), 0.5).num_threads == 1
    assert replica_settings(Settings(num_threads=2), 8.0).num_threads == 2


def test_deployment_options_fixed_or_autoscaled() -> None:
    fixed = deployment_options(3, num_cpus=2, num_gpus=1)
    assert fixed["num_replicas"] == 3 and fixed["ray_actor_options"] == {"num_cpus": 2, "num_gpus": 1}
    auto = deployment_options(autoscaling={"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 8})
    assert "num_replicas" not in auto and auto["autoscaling_config"]["max_replicas"] == 4


def test_ready_probe_reads_serves_view_of_the_app() -> None:
    # Shaped as `serve.status().applications[...]` is (ApplicationStatusOverview, DeploymentStatusOverview).
    from ray.serve.schema import ApplicationStatus, ApplicationStatusOverview, DeploymentStatusOverview

    def app(status: ApplicationStatus, replicas: dict[str, int], message: str = "") -> ApplicationStatusOverview:
        deployment = DeploymentStatusOverview(status="UPDATING", status_trigger="CONFIG_UPDATE_STARTED",
                                              replica_states=replicas, message="")  # fmt: skip
        return ApplicationStatusOverview(status=status, message=message, last_deployed_time_s=0.0,
                                         deployments={DEPLOYMENT_NAME: deployment})  # fmt: skip

    assert readiness(None, DEPLOYMENT_NAME) == (503, {"status": "loading", "stage": "deploying replicas",
                                                      "type": "unavailable"})  # fmt: skip
    status, body = readiness(app(ApplicationStatus.DEPLOYING, {"STARTING": 2}), DEPLOYMENT_NAME)
    assert status == 503 and body["stage"] == "loading model in replicas (0 of 2 running)"
    status, body = readiness(app(ApplicationStatus.DEPLOYING, {"RUNNING": 1, "STARTING": 1}), DEPLOYMENT_NAME)
    assert status == 200 and body["replicas"] == "1 of 2 running"  # Serve routes to the one that runs
    failed = app(ApplicationStatus.DEPLOY_FAILED, {}, "Traceback ... /home/me/secret-model: not found")
    status, body = readiness(failed, DEPLOYMENT_NAME)
    assert status == 503 and body["status"] == "failed" and "serve status" in body["detail"]
    assert "secret-model" not in str(body), "the unauthenticated route shows no traceback"
