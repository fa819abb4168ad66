"""MLX encoder: a true mlx-lm forward pass equal to torch per row; padding, batching, quantised and sharded weights."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from service.backends.torch.encoder import TorchEncoder
from service.config import Settings
from tests.backends.rows import encode_rows
from tests.conftest import requires_mlx

pytestmark = requires_mlx

TEXTS = ["the cat eats food", "a dog", "qdrant is a vector database for local search", "yes"]
# Very uneven lengths: most of the short row is padding, the case that turns naive masks into NaN.
UNEVEN = ["a", " ".join(["vector database search"] * 30), "cat dog", "the man eat bread with the woman"]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def torch_encoder(qwen3_path: Path) -> TorchEncoder:
    return TorchEncoder(str(qwen3_path), Settings())


def mlx_encoder(path: Path, **settings: object) -> object:
    from service.backends.mlx.encoder import MlxEncoder

    return MlxEncoder(str(path), Settings(**settings))  # type: ignore[arg-type]


@pytest.mark.parametrize("fixture", ["qwen3_mlx_path", "qwen3_path"])
def test_vectors_match_torch_per_row(request: pytest.FixtureRequest, fixture: str, torch_encoder: TorchEncoder) -> None:
    """MLX-format (converted) and plain Hugging Face folders both give torch's vectors."""
    encoder = mlx_encoder(request.getfixturevalue(fixture))
    ids = encoder.text.tokenize(TEXTS + UNEVEN)  # type: ignore[attr-defined]
    assert ids == torch_encoder.text.tokenize(TEXTS + UNEVEN), "same tokens, same EOS rule"
    ours, reference = encode_rows(encoder, ids), encode_rows(torch_encoder, ids)  # type: ignore[attr-defined]
    assert np.isfinite(ours).all()
    assert cosines(ours, reference).min() >= 0.9999
    np.testing.assert_allclose(ours, reference, atol=1e-4)
    assert (encoder.info.backend, encoder.info.dim, encoder.info.family.name) == ("mlx", 64, "qwen3-embedding")  # type: ignore[attr-defined]
    assert encoder.info.device == "cpu" and encoder.info.dtype == "float32"  # type: ignore[attr-defined]


def test_batched_equals_single_and_padding_sides_agree(qwen3_mlx_path: Path) -> None:
    encoder = mlx_encoder(qwen3_mlx_path)
    ids = encoder.text.tokenize(UNEVEN)  # type: ignore[attr-defined]
    assert len({len(row) for row in ids}) == len(ids), "rows must need different amounts of padding"
    left = encode_rows(encoder, ids)  # type: ignore[attr-defined]
    single = np.stack([encode_rows(encoder, [row])[0] for row in ids])  # type: ignore[attr-defined]
    encoder.text.padding_side = "right"  # type: ignore[attr-defined]
    right = encode_rows(encoder, ids)  # type: ignore[attr-defined]
    assert np.isfinite(left).all() and np.isfinite(right).all()
    np.testing.assert_allclose(left, single, atol=1e-5)
    np.testing.assert_allclose(right, single, atol=1e-5)
    assert not np.allclose(left[0], left[1], atol=1e-3), "different texts give different vectors"


def test_runs_on_a_worker_thread(qwen3_mlx_path: Path) -> None:
    """The engine loads on one thread and infers on another; MLX streams are per thread."""
    encoder = mlx_encoder(qwen3_mlx_path)
    ids = encoder.text.tokenize(TEXTS)  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=1) as pool:
        threaded = pool.submit(encode_rows, encoder, ids).result()  # type: ignore[attr-defined]
    np.testing.assert_allclose(threaded, encode_rows(encoder, ids), atol=1e-6)  # type: ignore[attr-defined]


@pytest.mark.parametrize("bits, min_cosine", [(8, 0.999), (4, 0.95)])
def test_quantised_weights(
    bits: int, min_cosine: float, qwen3_path: Path, tmp_path: Path, torch_encoder: TorchEncoder
) -> None:
    from service.backends.mlx.convert import convert_to_mlx

    path = convert_to_mlx(str(qwen3_path), tmp_path / f"q{bits}", bits=bits, group_size=32)
    assert json.loads((path / "config.json").read_text())["quantization"]["bits"] == bits
    encoder = mlx_encoder(path)
    assert encoder.info.dtype == f"{bits}-bit/float32"  # type: ignore[attr-defined]
    ids = encoder.text.tokenize(TEXTS)  # type: ignore[attr-defined]
    ours, reference = encode_rows(encoder, ids), encode_rows(torch_encoder, ids)  # type: ignore[attr-defined]
    assert cosines(ours, reference).min() >= min_cosine
    assert not np.allclose(ours, reference, atol=1e-5), "quantised weights really are used"


def test_sharded_weights(qwen3_path: Path, qwen3_mlx_path: Path, tmp_path: Path, torch_encoder: TorchEncoder) -> None:
    """Sharded Hugging Face weights (flat Qwen3-Embedding keys) and sharded MLX weights both load."""
    import mlx.core as mx
    from transformers import AutoModel, AutoTokenizer

    hf = tmp_path / "hf-sharded"
    AutoModel.from_pretrained(qwen3_path).save_pretrained(hf, max_shard_size="40KB")
    AutoTokenizer.from_pretrained(qwen3_path).save_pretrained(hf)
    mlx_folder = tmp_path / "mlx-sharded"
    mlx_folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (mlx_folder / name).write_bytes((qwen3_mlx_path / name).read_bytes())
    weights = mx.load(str(qwen3_mlx_path / "model.safetensors"))
    keys = sorted(weights)
    for i, part in enumerate((keys[: len(keys) // 2], keys[len(keys) // 2 :])):
        mx.save_safetensors(str(mlx_folder / f"model-0000{i + 1}-of-00002.safetensors"), {k: weights[k] for k in part})
    assert len(list(hf.glob("model-*.safetensors"))) > 1
    ids = torch_encoder.text.tokenize(TEXTS)
    reference = encode_rows(torch_encoder, ids)
    for folder in (hf, mlx_folder):
        np.testing.assert_allclose(encode_rows(mlx_encoder(folder), ids), reference, atol=1e-4)  # type: ignore[attr-defined]


def test_bare_tokenizer_gets_eos_and_truncation_keeps_it(qwen3_bare_path: Path) -> None:
    encoder = mlx_encoder(qwen3_bare_path, max_seq_length=8)
    eos = encoder.tokenizer.eos_token_id  # type: ignore[attr-defined]
    ids = encoder.text.tokenize(TEXTS)  # type: ignore[attr-defined]
    assert [row.count(eos) for row in ids] == [1] * len(TEXTS) and all(row[-1] == eos for row in ids)
    (cut,) = encoder.text.truncated([" ".join(["database"] * 50)])  # type: ignore[attr-defined]
    assert len(cut) == 8 and cut[-1] == eos


def test_refuses_a_bert_model_naming_the_alternative() -> None:
    from service.backends.torch.common import default_model_path

    with pytest.raises(RuntimeError, match="BACKEND=torch"):
        mlx_encoder(Path(default_model_path()))


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_other_decoder_families_with_transformers5_rope_config(model_type: str, tmp_path: Path) -> None:
    """Other mlx-lm families run unchanged; a rope base nested under `rope_parameters` is honoured."""
    import torch
    from transformers import LlamaConfig, LlamaModel, Qwen2Config, Qwen2Model

    from tests.tiny_models import _qwen_tokenizer

    config_class, model_class = {"llama": (LlamaConfig, LlamaModel), "qwen2": (Qwen2Config, Qwen2Model)}[model_type]
    torch.manual_seed(0)
    tokenizer = _qwen_tokenizer(append_eos=True)
    config = config_class(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rope_theta=500000.0,  # neither library's default
        eos_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
        pad_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
    )
    model_class(config).eval().save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)  # type: ignore[attr-defined]
    assert "rope_theta" not in json.loads((tmp_path / "config.json").read_text()), "nested, as transformers 5 saves"
    reference = TorchEncoder(str(tmp_path), Settings())
    ids = reference.text.tokenize(UNEVEN)
    np.testing.assert_allclose(encode_rows(mlx_encoder(tmp_path), ids), encode_rows(reference, ids), atol=1e-4)  # type: ignore[attr-defined]
