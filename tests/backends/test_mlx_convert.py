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


def official_layout(qwen3_path: Path, folder: Path) -> Path:
    """The tiny embedder laid out like Qwen3-Embedding-8B: config says Qwen3ForCausalLM and untied, yet the
    weights are the flat body only (no "model." prefix, no LM head). A plain mlx_lm.convert fails on it."""
    folder.mkdir()
    for file in qwen3_path.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["Qwen3ForCausalLM"]
    assert config["tie_word_embeddings"] is False
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_cli_converts_official_qwen3_embedding_layout(qwen3_path: Path, tmp_path: Path) -> None:
    source = official_layout(qwen3_path, tmp_path / "official")
    destination = tmp_path / "q8"
    assert main(["convert-mlx", str(source), str(destination), "--bits", "8", "--group-size", "32"]) == 0
    config = json.loads((destination / "config.json").read_text())
    assert config["quantization"]["bits"] == 8 and config["quantization"]["group_size"] == 32
    names = weight_names(destination)
    assert names and all(name.startswith("model.") for name in names), "no LM head invented"
    assert "model.layers.0.self_attn.q_proj.scales" in names
    assert (destination / "tokenizer.json").is_file()


def test_lm_heads_are_kept_unless_dropped(qwen3_reranker_path: Path, tmp_path: Path) -> None:
    import mlx.core as mx

    from service.backends.mlx.convert import convert_to_mlx

    folder = convert_to_mlx(str(qwen3_reranker_path), tmp_path / "rr", dtype="float16")
    assert "lm_head.weight" in weight_names(folder)
    dropped = convert_to_mlx(str(qwen3_reranker_path), tmp_path / "body", drop_head=True)
    assert not any(name.startswith("lm_head") for name in weight_names(dropped))
    assert mx.load(str(folder / "model.safetensors"))["lm_head.weight"].dtype == mx.float16
    assert json.loads((folder / "config.json").read_text())["torch_dtype"] == "float16"


def test_refuses_to_overwrite(qwen3_path: Path, tmp_path: Path) -> None:
    from service.backends.mlx.convert import convert_to_mlx

    with pytest.raises(FileExistsError):
        convert_to_mlx(str(qwen3_path), tmp_path)
