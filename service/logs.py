"""Logging set-up, done once at start-up by the entry points (never by library modules)."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    """Timestamped one-line records on stderr."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
