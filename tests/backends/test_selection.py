"""BACKEND=auto and explicit choices, decided from stated platform facts and the model's real config.json."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from service.backends.selection import Platform, choose_backend
from service.config import Settings
from service.errors import MissingExtra
from tests.conftest import mlx_usable

MAC = Platform(system="Darwin", machine="arm64", mlx_importable=True)
MAC_WITHOUT_MLX = Platform(system="Darwin", machine="arm64", mlx_importable=False, mlx_problem="mlx is not usable: x")
INTEL_MAC = Platform(system="Darwin", machine="x86_64", mlx_importable=False, mlx_problem="mlx is not usable: x")
LINUX_WITH_MLX = Platform(system="Linux", machine="x86_64", mlx_importable=True)


def test_apple_silicon_with_mlx_and_a_decoder_embedder_picks_mlx(qwen3_path: Path) -> None:
    backend, why = choose_backend(Settings(model_name=str(qwen3_path)), MAC)
    assert backend == "mlx"
    assert "Apple Silicon" in why and str(qwen3_path) in why


def test_mlx_model_path_is_what_mlx_loads(qwen3_path: Path) -> None:
    backend, why = choose_backend(Settings(mlx_model_path=str(qwen3_path)), MAC)
    assert backend == "mlx" and str(qwen3_path) in why


@pytest.mark.parametrize(
    "facts, says",
    [
        (MAC_WITHOUT_MLX, "pip install 'embedrank[mlx]'"),
        (INTEL_MAC, "Darwin/x86_64 is not Apple Silicon"),
        (LINUX_WITH_MLX, "Linux/x86_64 is not Apple Silicon"),
    ],
)
def test_torch_everywhere_else(qwen3_path: Path, facts: Platform, says: str) -> None:
    backend, why = choose_backend(Settings(model_name=str(qwen3_path)), facts)
    assert backend == "torch" and says in why


def test_apple_silicon_with_a_model_mlx_cannot_run_picks_torch(cross_encoder_path: Path) -> None:
    backend, why = choose_backend(Settings(), MAC)  # the embedded MiniLM
    assert backend == "torch" and "BERT" in why
    backend, why = choose_backend(Settings(model_name=str(cross_encoder_path)), MAC)
    assert backend == "torch" and "'bert' model, not a decoder embedder" in why


def test_explicit_mlx_without_mlx_fails_naming_the_extra(qwen3_path: Path) -> None:
    with pytest.raises(MissingExtra, match=r"pip install 'embedrank\[mlx\]'"):
        choose_backend(Settings(backend="mlx", model_name=str(qwen3_path)), MAC_WITHOUT_MLX)


def test_explicit_mlx_with_a_bert_model_fails_at_start_up() -> None:
    with pytest.raises(RuntimeError, match="BACKEND=mlx cannot serve this model"):
        choose_backend(Settings(backend="mlx"), LINUX_WITH_MLX)


def test_explicit_choices_are_kept(qwen3_path: Path) -> None:
    assert choose_backend(Settings(backend="torch", model_name=str(qwen3_path)), MAC)[0] == "torch"
    assert choose_backend(Settings(backend="mlx", model_name=str(qwen3_path)), LINUX_WITH_MLX)[0] == "mlx"


def test_torch_refuses_mlx_quantised_weights(qwen3_path: Path, tmp_path: Path) -> None:
    config = json.loads((qwen3_path / "config.json").read_text())
    config["quantization"] = {"group_size": 64, "bits": 4, "mode": "affine"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="MLX-quantised weights"):
        choose_backend(Settings(model_name=str(tmp_path)), LINUX_WITH_MLX)
    assert choose_backend(Settings(model_name=str(tmp_path)), MAC)[0] == "mlx"


def test_current_platform_facts() -> None:
    facts = Platform.current()
    assert (facts.system, facts.machine) == (platform.system(), platform.machine())
    assert facts.mlx_importable == mlx_usable()
    assert (facts.mlx_problem is None) == facts.mlx_importable
