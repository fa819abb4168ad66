"""Dockerfile and compose.yaml, checked without a Docker engine: hadolint, structure, env names, wiring."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml

from service.api.auth import OPEN_PATHS
from service.api.route_table import route_table
from service.app import create_app
from service.config import Settings

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
SETTINGS = {name.upper() for name in Settings.model_fields}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for op, args in instructions(DOCKERFILE):
        if op == "FROM":
            result.append([])
        if result:
            result[-1].append((op, args))
    return result


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    pairs = [re.findall(r"(\w+)=(\S+)", args) for op, args in stage if op == "ENV"]
    return {key: value for found in pairs for key, value in found}


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (dev extra, Linux wheels only)")
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    runtime = stages()[-1]
    assert len(stages()) >= 2 and "COPY --from=build" in " ".join(f"{op} {args}" for op, args in runtime)
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    ops = [op for op, _ in runtime]
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    health = " ".join(args for op, args in runtime if op == "HEALTHCHECK")
    path = re.search(r"127\.0\.0\.1:%s(/\w+)", health)
    assert path and path.group(1) in OPEN_PATHS  # the probe carries no key
    env = env_of(runtime)
    assert {"HOST", "PORT"} <= env.keys() and Settings(host=env["HOST"], port=env["PORT"]).port == 9000
    assert [args for op, args in runtime if op == "EXPOSE"] == [env["PORT"]]
    assert "ENTRYPOINT" in ops and "STOPSIGNAL" in ops


def test_torch_is_the_cpu_wheel_on_amd64_and_installed_first() -> None:
    runs = [args for op, args in stages()[0] if op == "RUN"]
    torch_run = next(i for i, run in enumerate(runs) if "torch==" in run)
    assert re.search(r'TARGETARCH"?\s*=\s*"?amd64.*download\.pytorch\.org/whl/cpu', runs[torch_run])
    project_run = next(i for i, run in enumerate(runs) if re.search(r"pip install \"?\.", run))
    assert torch_run < project_run
    setup = (REPO / ".ci" / "setup").read_text()
    assert re.search(r"TORCH_VERSION=\$\{TORCH_VERSION:-([\d.]+)\}", setup).group(1) in DOCKERFILE  # type: ignore[union-attr]


def test_the_image_gets_every_package() -> None:
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    copied = {args.split()[0] for op, args in stages()[0] if op == "COPY" and not args.startswith("--")}
    for pattern in packages["include"]:
        assert pattern.rstrip("*") in copied, pattern
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not copied & set(ignored) and (REPO / ".env").name in ignored  # secrets never enter the build context


def test_compose_env_names_are_embedrank_settings() -> None:
    env = COMPOSE["services"]["embedrank"]["environment"]
    assert set(env) <= SETTINGS, set(env) - SETTINGS
    values = {name.lower(): re.sub(r"\$\{[^}]+\}", "a-key", str(value)) for name, value in env.items()}
    settings = Settings(**values)  # every value is valid for its setting
    assert settings.api_keys == ["a-key"] and settings.host == "0.0.0.0"
    grace = float(re.match(r"(\d+)s", COMPOSE["services"]["embedrank"]["stop_grace_period"]).group(1))  # type: ignore[union-attr]
    assert grace > settings.shutdown_grace_s


def test_compose_services_point_at_each_other() -> None:
    services = COMPOSE["services"]
    assert {"embedrank", "qdrant", "open-webui", "n8n"} <= services.keys()
    port = services["embedrank"]["environment"]["PORT"]
    routes = {entry.path for entry in route_table(create_app(Settings(ui_enabled=False)))}
    urls = [str(v) for name in ("open-webui", "n8n") for v in services[name]["environment"].values()]
    embedrank_urls = [u for u in urls if u.startswith("http://embedrank")]
    assert len(embedrank_urls) >= 4
    for url in embedrank_urls:
        assert url.startswith(f"http://embedrank:{port}"), url
        path = url.removeprefix(f"http://embedrank:{port}")
        assert not path or path in routes or any(r.startswith(path + "/") for r in routes), url
    owui = services["open-webui"]["environment"]
    assert owui["RAG_OPENAI_API_BASE_URL"] + "/embeddings" in [f"http://embedrank:{port}{r}" for r in routes]
    assert owui["QDRANT_URI"] == "http://qdrant:6333" == services["n8n"]["environment"]["QDRANT_URL"]
    assert owui["RAG_OPENAI_API_KEY"] == owui["RAG_EXTERNAL_RERANKER_API_KEY"] == "${API_KEY}"
    for name in ("open-webui", "n8n"):
        assert services[name]["depends_on"]["embedrank"]["condition"] == "service_healthy"
    for service in services.values():  # nothing listens beyond this machine by default
        assert all(str(mapping).startswith("127.0.0.1:") for mapping in service.get("ports", []))
