"""`embedrank serve --ray` joins RAY_ADDRESS, serves, stops Serve cleanly on SIGTERM; the Serve config file."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest
import yaml

from service.ray_serve import REPLICA_HEADER
from tests.live_server import REPO, SERVE, free_port, running, serve

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


def test_serve_ray_cli_ready_answers_503_while_replicas_load_never_holds(ray_cluster: Any) -> None:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_ADDRESS": ray_cluster.address, "UI_ENABLED": "false"}
    argv = [*SERVE, "--ray", "--host", "127.0.0.1", "--port", str(port)]
    polls: list[tuple[str, str]] = []  # (status or error name, stage) from the process start to the first 200
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
            except httpx.HTTPError as exc:
                polls.append((type(exc).__name__, ""))
            else:
                json_body = r.headers.get("content-type", "").startswith("application/json")
                polls.append((str(r.status_code), r.json().get("stage", "") if json_body else r.text[:80]))
                if r.status_code == 200:
                    return
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        with running(argv, env, port=port, timeout_s=180):
            poller.join(timeout=30)
    finally:
        stop.set()
    answered = [(status, stage) for status, stage in polls if status.isdigit()]
    print(f"\n/ready while `serve --ray` started: {polls}")
    assert answered[-1][0] == "200", polls
    loading = [stage for status, stage in answered if status == "503"]
    assert loading and all("replica" in stage for stage in loading), polls  # the stage, while they load
    assert "ReadTimeout" not in {status for status, _ in polls}, polls  # no poll was held


def test_serve_config_file_is_a_valid_serve_config_of_this_app() -> None:
    from ray.serve.schema import ServeDeploySchema

    from service.ray_serve import DEPLOYMENT_NAME, app_builder

    config = ServeDeploySchema.model_validate(yaml.safe_load((REPO / "service/ray_serve.yaml").read_text()))
    app = config.applications[0]
    assert app.import_path == "service.ray_serve:app_builder"
    assert [d.name for d in app.deployments] == [DEPLOYMENT_NAME]
    bound = app_builder(app.args)  # builds the Serve application without deploying it
    assert type(bound).__name__ == "Application"
