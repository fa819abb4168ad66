"""The real embedrank server, started from a clean work folder (the shared launcher), for the Qdrant tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.live_server import REPO, free_port, running


@contextmanager
def running_server(workdir: Path, **settings: str) -> Iterator[str]:
    """Run `uvicorn service.app:app` on a free 127.0.0.1 port until the block ends; yield its URL.

    It runs from `workdir` with the user's model settings removed, so neither the environment nor
    a .env file changes what the tests expect; `settings` adds environment variables on top.
    """
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONPATH": pythonpath}
    for name in ("MODEL_NAME", "CROSS_ENCODER_MODEL", "BACKEND", "API_KEY"):
        env.pop(name, None)
    env.update(settings)
    argv = [sys.executable, "-m", "uvicorn", "service.app:app", "--host", "127.0.0.1", "--port", "{port}"]
    with running(argv, env, port=free_port(), cwd=workdir, timeout_s=300.0) as server:
        yield server.url
