"""`embedrank convert-mlx`: Hugging Face weights → an MLX folder (optionally 4/8-bit) with mlx-lm's converter."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from service.backends.mlx.common import import_mlx, load_mlx_model

logger = logging.getLogger(__name__)

DTYPES = ("float16", "bfloat16", "float32")


def convert_to_mlx(
    source: str,
    destination: str | Path,
    *,
    bits: int | None = None,
    group_size: int = 64,
    dtype: str | None = None,
    drop_head: bool = False,
) -> Path:
    """Write `source` as MLX weights to `destination` (which must not exist) and return it.

    Unlike a plain `mlx_lm.convert`, this accepts official Qwen3-Embedding checkpoints (flat body
    keys, possibly no LM head even when the config says untied). An LM head in the checkpoint is
    kept (rerankers need it) unless `drop_head` (embedders never use it; Qwen3-Embedding and
    Qwen3-Reranker configs both name Qwen3ForCausalLM, so the config cannot tell them apart).
    Quantisation and saving are mlx-lm's own (`quantize_model`, `save`).
    """
    from transformers import AutoTokenizer

    mx, mlx_utils = import_mlx()
    destination = Path(destination)
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; choose a new folder")
    loaded = load_mlx_model(source, keep_head=False if drop_head else None, lazy=True)
    model, config = loaded.model, dict(loaded.config)
    if dtype is not None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}")
        target = getattr(mx, dtype)

        def cast(value: Any) -> Any:
            return value.astype(target) if mx.issubdtype(value.dtype, mx.floating) else value

        from mlx.utils import tree_map

        model.update(tree_map(cast, model.parameters()))
        config["torch_dtype"] = dtype
    with mx.stream(loaded.stream):
        if bits is not None:
            model, config = mlx_utils.quantize_model(model, config, group_size, bits)
        tokenizer = AutoTokenizer.from_pretrained(loaded.path)
        mlx_utils.save(destination, loaded.path, model, tokenizer, config)
    logger.info("wrote %s (%s)", destination, f"{bits}-bit" if bits else dtype or "original dtype")
    return destination


def add_subcommand(commands: Any) -> None:
    """Register `convert-mlx` on the `embedrank` command line."""
    parser = commands.add_parser(
        "convert-mlx",
        help="convert a Hugging Face model to MLX weights (needs: pip install 'embedrank[mlx]')",
        description="Convert a Hugging Face embedding model or Qwen3-Reranker to an MLX folder for BACKEND=mlx.",
    )
    parser.add_argument("source", help="hub id or local folder, e.g. Qwen/Qwen3-Embedding-4B")
    parser.add_argument("destination", help="new folder to write, e.g. ./mlx-qwen3-emb-4b")
    parser.add_argument("--bits", type=int, choices=[4, 8], default=None, help="quantise weights to 4 or 8 bits")
    parser.add_argument("--group-size", type=int, default=64, help="quantisation group size (default 64)")
    parser.add_argument("--dtype", choices=DTYPES, default=None, help="dtype of unquantised weights")
    parser.add_argument(
        "--drop-lm-head", action="store_true", help="leave out the LM head (embedders never use it; rerankers need it)"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from service.logs import configure_logging

    configure_logging("info")
    convert_to_mlx(
        args.source,
        args.destination,
        bits=args.bits,
        group_size=args.group_size,
        dtype=args.dtype,
        drop_head=args.drop_lm_head,
    )
    return 0
