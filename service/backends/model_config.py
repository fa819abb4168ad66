"""A model's config.json read without loading weights: what it is, and whether it is in MLX format."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from service.families import RerankerFamily, reranker_family_for

logger = logging.getLogger(__name__)


def read_config(name_or_path: str) -> dict[str, Any] | None:
    """config.json of a local folder or of a hub model already in the cache; None when unreadable."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        config_file: Path | None = path / "config.json"
    else:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name_or_path, "config.json")
        config_file = Path(cached) if isinstance(cached, str) else None
        if config_file is None:
            config_file = _download_config(name_or_path)
    if config_file is None or not config_file.is_file():
        return None
    try:
        config: dict[str, Any] = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        logger.warning("cannot read %s: %s", config_file, exc)
        return None
    return config


def _download_config(repo_id: str) -> Path | None:
    """Fetch only config.json of a hub id (fails fast, quietly, when offline)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        return Path(hf_hub_download(repo_id, "config.json"))
    except (OSError, ValueError, HfHubHTTPError, OfflineModeIsEnabled) as exc:
        logger.debug("no config.json for %s: %s", repo_id, exc)
        return None


def is_mlx_format(config: dict[str, Any]) -> bool:
    """True for weights written by mlx-lm with quantisation, which only MLX can run."""
    quantization = config.get("quantization")
    return isinstance(quantization, dict) and "bits" in quantization


def reranker_family_of(name_or_path: str) -> RerankerFamily | None:
    """The causal-LM reranker family of a CROSS_ENCODER_MODEL, or None for a classic cross-encoder."""
    config = read_config(name_or_path)
    if config is None:
        return None
    architectures = config.get("architectures")
    if isinstance(architectures, str):
        architectures = [architectures]
    return reranker_family_for(architectures)
