"""MLX plumbing shared by the MLX encoder and reranker: import check, loading, a padded forward pass."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.errors import MissingExtra

logger = logging.getLogger(__name__)

# What a model folder needs for MLX: weights, config and tokenizer, never the pytorch/onnx copies.
_ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja"]


def import_mlx() -> tuple[Any, Any]:
    """(mlx.core, mlx_lm.utils), or MissingExtra naming the extra when either is unusable."""
    try:
        import mlx.core as mx
    except (ImportError, OSError) as exc:  # plain `mlx` on Linux installs but lacks libmlx: OSError
        raise MissingExtra("mlx", "mlx") from exc
    try:
        import mlx_lm.utils as mlx_utils
    except (ImportError, OSError) as exc:
        raise MissingExtra("mlx-lm", "mlx") from exc
    return mx, mlx_utils


def model_dir(name_or_path: str) -> Path:
    """A local folder as is; a hub id through the Hugging Face cache (downloaded once when online)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(name_or_path, allow_patterns=_ALLOW_PATTERNS))


def device_name(mx: Any) -> str:
    """Where MLX computes: "metal" (Apple GPU), "cuda" (mlx[cuda]) or "cpu"."""
    if mx.default_device() == mx.gpu:
        return "metal" if sys.platform == "darwin" else "cuda"
    return "cpu"


class PaddedPass:
    """Stands in for mlx-lm's KV cache during one full forward pass.

    mlx-lm models ask their cache for the attention mask (`make_mask`) and hand it keys and values
    (`update_and_fetch`). This object keeps nothing and answers with the causal mask combined with
    the padding mask, so every model runs its own layers unchanged on a padded batch. A padded
    position may still see itself: a row with nothing to attend to would turn into NaN and spread
    through the values of the next layer.
    """

    offset = 0

    def __init__(self, mx: Any, real: NDArray[np.bool_]) -> None:
        self._mx = mx
        self._real = real

    def update_and_fetch(self, keys: Any, values: Any) -> tuple[Any, Any]:
        return keys, values

    def make_mask(self, n: int, return_array: bool = False, window_size: int | None = None) -> Any:
        padded = not self._real.all()
        if not padded and window_size is None and not return_array:
            return "causal"  # MLX's fused kernel; no (L, L) mask in memory
        query = np.arange(n)[:, None]
        key = np.arange(n)[None, :]
        allowed = key <= query
        if window_size is not None:
            allowed = allowed & (query - key < window_size)
        mask = allowed[None] & (self._real[:, None, :] | (key == query)[None])
        return self._mx.array(mask[:, None])  # (batch, 1 head, query, key)


def body_of(model: Any) -> Any:
    """The transformer body (embeddings → layers → final norm) of an mlx-lm causal LM."""
    body = getattr(model, "model", None)
    if body is None or not hasattr(body, "layers"):
        raise RuntimeError(f"{type(model).__module__} has no transformer body at .model; MLX cannot embed with it")
    return body


@dataclass
class MlxModel:
    """A loaded mlx-lm model plus what the backends need to run it from any thread."""

    mx: Any
    model: Any
    config: dict[str, Any]
    path: Path
    stream: Any

    def hidden_states(self, ids: NDArray[np.int32], real: NDArray[np.bool_]) -> Any:
        """Final-norm hidden states (batch, length, hidden) of a padded batch; no LM head."""
        body = body_of(self.model)
        caches = [PaddedPass(self.mx, real) for _ in body.layers]
        return body(self.mx.array(ids), cache=caches)

    def run(self, fn: Callable[[], Any]) -> Any:
        """Evaluate on this model's stream: MLX streams are per thread, and inference runs on its own."""
        with self.mx.stream(self.stream):
            result = fn()
            self.mx.eval(result)
            return result

    @property
    def dtype(self) -> str:
        """Activation dtype, plus the quantisation when the weights are quantised (e.g. "4-bit/bfloat16")."""
        embed = body_of(self.model).embed_tokens
        scales = getattr(embed, "scales", None)
        dtype = str((scales if scales is not None else embed.weight).dtype).removeprefix("mlx.core.")
        quantization = self.config.get("quantization")
        return f"{quantization['bits']}-bit/{dtype}" if isinstance(quantization, dict) else dtype


def load_mlx_model(name_or_path: str, *, keep_head: bool | None, lazy: bool = False) -> MlxModel:
    """Load MLX-format (quantised or not, sharded or not) or Hugging Face weights with mlx-lm.

    Official Qwen3-Embedding checkpoints store the body with flat keys (`layers.0...`, no `model.`)
    and may lack an LM head even when their config says it is untied; both are accepted. The LM
    head is dropped (`keep_head=False`: embedders), required (True: rerankers read two of its rows)
    or kept when the checkpoint has one (None: conversion). `lazy` leaves weights on disk until
    first use (conversion).
    """
    mx, mlx_utils = import_mlx()
    path = model_dir(name_or_path)
    stream = mx.new_thread_local_stream(mx.default_device())

    def classes(config: dict[str, Any]) -> tuple[type, type]:
        model_class, args_class = mlx_utils._get_classes(config)
        return _tolerant(model_class, keep_head), args_class

    with mx.stream(stream):
        try:
            overrides = rope_overrides(mlx_utils.load_config(path))
            model, config = mlx_utils.load_model(path, lazy=lazy, model_config=overrides, get_model_classes=classes)
        except ValueError as exc:
            raise RuntimeError(f"MLX (mlx-lm) cannot load {name_or_path!r}: {exc}") from exc
    loaded = MlxModel(mx=mx, model=model, config=config, path=path, stream=stream)
    logger.info(
        "mlx-lm loaded %s (%s, %s) on %s", name_or_path, config.get("model_type"), loaded.dtype, device_name(mx)
    )
    return loaded


def rope_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """Top-level `rope_theta` / `rope_scaling` for configs written by transformers >= 5.

    transformers 5 nests them under `rope_parameters`; most mlx-lm models read only the top-level
    keys and would silently fall back to their own default base (1e6 for qwen2), rotating every
    position wrongly.
    """
    rope = config.get("rope_parameters")
    if not isinstance(rope, dict):
        return {}
    overrides: dict[str, Any] = {}
    if "rope_theta" not in config and "rope_theta" in rope:
        overrides["rope_theta"] = rope["rope_theta"]
    if config.get("rope_scaling") is None and rope.get("rope_type", "default") != "default":
        overrides["rope_scaling"] = {k: v for k, v in rope.items() if k != "rope_theta"}
    return overrides


def _tolerant(model_class: type, keep_head: bool | None) -> type:
    """`model_class` whose weight sanitising accepts flat body keys and keeps or drops the LM head."""

    class Tolerant(model_class):  # type: ignore[valid-type, misc]
        def __init__(self, args: Any) -> None:
            super().__init__(args)
            if keep_head is False:
                self.pop("lm_head", None)

        def sanitize(self, weights: dict[str, Any]) -> dict[str, Any]:
            if not any(key.startswith("model.") for key in weights):
                weights = {(key if key.startswith("lm_head.") else f"model.{key}"): w for key, w in weights.items()}
            has_head = any(key.startswith("lm_head.") for key in weights)
            if keep_head is False:
                weights = {key: w for key, w in weights.items() if not key.startswith("lm_head.")}
            elif keep_head is None and not has_head:
                self.pop("lm_head", None)  # e.g. Qwen3-Embedding-8B: untied in its config, yet headless
            sanitized: dict[str, Any] = super().sanitize(weights) if hasattr(model_class, "sanitize") else weights
            return sanitized

    Tolerant.__name__ = Tolerant.__qualname__ = model_class.__name__
    Tolerant.__module__ = model_class.__module__
    return Tolerant
