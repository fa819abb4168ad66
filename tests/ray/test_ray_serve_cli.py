"""`embedrank serve --ray` joins RAY_ADDRESS, serves, stops Serve cleanly on SIGTERM; the Serve config file."""

from __future__ import annotations

import signal
from typing import Any

import httpx
import pytest
import yaml

from service.ray_serve import REPLICA_HEADER
from tests.live_server import REPO, SERVE, serve

pytestmark = pytest.mark.slow


def test_serve_ray_cli_serves_and_stops_on_sigterm(ray_cluster: Any) -> None:
    env = {"RAY_ADDRESS": ray_cluster.address, "UI_ENABLED": "false"}
    argv = [*SERVE, "--ray", "--replicas", "2", "--host", "127.0.0.1", "--port", "{port}"]
    with serve(env, argv, timeout_s=180) as server:
        try:
            r = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["hello"], "model": "m"}, timeout=30)
            assert r.status_code == 200 and len(r.json()["data"][0]["embedding"]) == 384
            assert r.headers[REPLICA_HEADER]
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(timeout=90) == 0
        finally:
            assert server.log is not None
            print(server.log.read_text()[-2000:])
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/ready", timeout=5)  # Serve and its proxy are gone


def test_serve_config_file_is_a_valid_serve_config_of_this_app() -> None:
    from ray.serve.schema import ServeDeploySchema

    from service.ray_serve import DEPLOYMENT_NAME, app_builder

    config = ServeDeploySchema.model_validate(yaml.safe_load((REPO / "service/ray_serve.yaml").read_text()))
    app = config.applications[0]
    assert app.import_path == "service.ray_serve:app_builder"
    assert [d.name for d in app.deployments] == [DEPLOYMENT_NAME]
    bound = app_builder(app.args)  # builds the Serve application without deploying it
    assert type(bound).__name__ == "Application"
