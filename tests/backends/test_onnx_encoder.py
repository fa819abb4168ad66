"""ONNX encoder: float32 parity with torch (MiniLM, Qwen3), int8 accuracy, shared tokenisation, refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest

from service.backends.onnx.encoder import OnnxEncoder, load_encoder
from service.backends.torch.encoder import TorchEncoder
from service.backends.torch.encoder import load_encoder as load_torch_encoder
from service.config import Settings
from tests.backends.rows import encode_rows

# Natural sentences of typical query/document length (single words are discussed in the README).
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a white horse on an enclosed ground.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "Someone in a gorilla costume is playing a set of drums.",
    "What is the capital of France?",
    "Qdrant is a vector database written in Rust.",
    "How do I reset my password?",
    "The weather today is sunny with a light breeze.",
    "Embeddings map text to vectors.",
    "The stock market fell sharply on Monday.",
    "I love pizza with extra cheese.",
    "Reranking improves search precision for retrieval augmented generation.",
    "Local-first servers keep private documents on your own hardware, " * 8,
]
QWEN_TEXTS = ["the cat eats food", "a dog", "qdrant is a vector database for local search", "yes"]


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def minilm_torch() -> TorchEncoder:
    return load_torch_encoder(Settings())


def test_minilm_float32_matches_torch_per_row(minilm_torch: TorchEncoder, onnx_cache_dir: Path) -> None:
    encoder = load_encoder(Settings(backend="onnx", onnx_cache_dir=str(onnx_cache_dir)))
    assert (encoder.info.name, encoder.info.dim, encoder.info.max_tokens) == (
        "sentence-transformers/all-MiniLM-L6-v2", 384, 256,
    )  # fmt: skip
    assert (encoder.info.backend, encoder.info.device, encoder.info.dtype) == ("onnx", "cpu", "float32")
    ids = encoder.text.tokenize(SENTENCES)
    assert ids == minilm_torch.text.tokenize(SENTENCES), "both backends tokenise with the shared TextIds"
    ours, reference = encode_rows(encoder, ids), encode_rows(minilm_torch, ids)
    assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
    assert row_cosines(ours, reference).min() >= 0.9999
    np.testing.assert_allclose(ours, reference, atol=1e-4)  # raw pooled vectors, not normalised
    one_by_one = np.stack([encode_rows(encoder, [row])[0] for row in ids[:4]])
    np.testing.assert_allclose(one_by_one, ours[:4], atol=1e-4)


def test_minilm_graph_is_fused_by_the_optimiser(onnx_cache_dir: Path) -> None:
    encoder = load_encoder(Settings(onnx_cache_dir=str(onnx_cache_dir)))
    ops = {node.op_type for node in onnx.load(str(encoder.model.path / "model.onnx")).graph.node}
    assert {"Attention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops


def test_minilm_int8_stays_close_to_float32(minilm_torch: TorchEncoder, onnx_cache_dir: Path) -> None:
    encoder = load_encoder(Settings(onnx_cache_dir=str(onnx_cache_dir), onnx_quantize="int8"))
    assert encoder.info.dtype == "int8"
    graph = onnx.load(str(encoder.model.path / "model.int8.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("MatMulInteger") + ops.count("QAttention") >= 16, "the graph is really quantised"
    assert "MatMulInteger" in ops and "DynamicQuantizeLinear" in ops
    ids = encoder.text.tokenize(SENTENCES)
    cosines = row_cosines(encode_rows(encoder, ids), encode_rows(minilm_torch, ids))
    assert cosines.min() >= 0.99, cosines
    assert cosines.max() < 0.99999, "int8 must differ from float32 somewhere (else nothing was quantised)"
    meta = json.loads((encoder.model.path / "meta.json").read_text())
    kept = meta["artifacts"]["model.int8.onnx"]["kept_float32"]
    assert 0 < len(kept) <= 6 and all(re.search(r"layer\.\d+/output/dense", name) for name in kept), kept


@pytest.mark.parametrize("fixture", ["qwen3_path", "qwen3_bare_path"])
def test_qwen3_float32_matches_torch_last_token(
    request: pytest.FixtureRequest, fixture: str, onnx_cache_dir: Path
) -> None:
    path = str(request.getfixturevalue(fixture))
    torch_encoder = TorchEncoder(path, Settings())
    encoder = OnnxEncoder(path, Settings(onnx_cache_dir=str(onnx_cache_dir)))
    assert encoder.info.family.name == "qwen3-embedding" and encoder.text.padding_side == "left"
    ids = encoder.text.tokenize(QWEN_TEXTS)
    assert ids == torch_encoder.text.tokenize(QWEN_TEXTS)
    eos = encoder.tokenizer.eos_token_id
    assert all(row[-1] == eos and row.count(eos) == 1 for row in ids), "EOS exactly once, at the end"
    ours, reference = encode_rows(encoder, ids), encode_rows(torch_encoder, ids)
    assert row_cosines(ours, reference).min() >= 0.9999
    single = np.stack([encode_rows(encoder, [row])[0] for row in ids])
    np.testing.assert_allclose(single, ours, atol=1e-4)  # left padding does not move the last token


def test_max_seq_length_caps_a_cached_export(qwen3_bare_path: Path, onnx_cache_dir: Path) -> None:
    encoder = OnnxEncoder(str(qwen3_bare_path), Settings(onnx_cache_dir=str(onnx_cache_dir), max_seq_length=8))
    (cut,) = encoder.text.truncated([" ".join(["database"] * 50)])
    assert len(cut) == 8 and cut[-1] == encoder.tokenizer.eos_token_id
    assert encode_rows(encoder, [cut]).shape == (1, 64)


def test_unsupported_architecture_fails_at_start_up(tmp_path: Path, onnx_cache_dir: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "architectures": ["GPT2Model"]}))
    with pytest.raises(RuntimeError, match=r"BACKEND=onnx exports .*'gpt2'.*BACKEND=torch"):
        OnnxEncoder(str(tmp_path), Settings(onnx_cache_dir=str(onnx_cache_dir)))


def test_gpu_devices_are_refused(onnx_cache_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="runs on the CPU"):
        load_encoder(Settings(onnx_cache_dir=str(onnx_cache_dir), device="cuda"))
