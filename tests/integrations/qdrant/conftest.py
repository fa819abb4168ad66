"""Fixtures for the Qdrant helper: a real embedrank server process (MiniLM) and a fresh notes folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_fixtures import build_docs
from qdrant_server import running_server

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service with its default model (all-MiniLM-L6-v2, 384-dim, no cross-encoder)."""
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture()
def notes(tmp_path: Path) -> Path:
    """A fresh copy of the fixture folder (tests edit and delete files in it)."""
    return build_docs(tmp_path / "notes")
