"""Where the real third-party apps (Open WebUI, n8n) are: set by .ci/run; missing is a skip locally, a failure in CI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest


def app_binary(variable: str, what: str, install: str) -> Path:
    """The executable named by `variable`; CI (CI=true) must run these tests, so there a missing app fails."""
    value = os.environ.get(variable, "")
    path = Path(value) if value else None
    if path is not None and path.is_file() and os.access(path, os.X_OK):
        return path
    app_missing(f"{what}: set {variable} to its CLI (install it with `{install}`); got {value!r}")


def app_missing(reason: str) -> NoReturn:
    """Skip locally; fail in CI (CI=true), which must run every real-app test."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run the real-app tests; {reason}", pytrace=False)
    pytest.skip(reason)
