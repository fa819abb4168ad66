"""`embedrank convert-mlx`: MLX folders from official checkpoints; embedders lose the LM head, rerankers keep it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from tests.conftest import requires_mlx

pytestmark = requires_mlx


def weight_names(folder: Path) -> set[str]:
    return set(json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"])


def test_cli_converts_flat_qwen3_embedding_weights(qwen3_path: Path, tmp_path: Path) -> None:
    # The official Qwen3-Embedding layout: body keys without "model.", no LM head (a plain mlx_lm.convert fails).
    assert json.loads((qwen3_path / "config.json").read_text())["architectures"] == ["Qwen3Model"]
    destination = tmp_path / "q8"
    assert main(["convert-mlx", str(qwen3_path), str(destination), "--bits", "8", "--group-size", "32"]) == 0
    config = json.loads((destination / "config.json").read_text())
    assert config["quantization"]["bits"] == 8 and config["quantization"]["group_size"] == 32
    names = weight_names(destination)
    assert names and all(name.startswith("model.") for name in names)
    assert "model.layers.0.self_attn.q_proj.scales" in names
    assert (destination / "tokenizer.json").is_file()


def test_rerankers_keep_their_lm_head(qwen3_reranker_path: Path, tmp_path: Path) -> None:
    import mlx.core as mx

    from service.backends.mlx_convert import convert_to_mlx

    folder = convert_to_mlx(str(qwen3_reranker_path), tmp_path / "rr", dtype="float16")
    assert "lm_head.weight" in weight_names(folder)
    assert mx.load(str(folder / "model.safetensors"))["lm_head.weight"].dtype == mx.float16
    assert json.loads((folder / "config.json").read_text())["torch_dtype"] == "float16"


def test_refuses_to_overwrite(qwen3_path: Path, tmp_path: Path) -> None:
    from service.backends.mlx_convert import convert_to_mlx

    with pytest.raises(FileExistsError):
        convert_to_mlx(str(qwen3_path), tmp_path)
