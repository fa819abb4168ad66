"""ONNX export cache: a second start reuses the export, a corrupt entry is re-exported with a warning."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from service.backends.onnx.cache import fingerprint
from service.backends.onnx.encoder import OnnxEncoder
from service.backends.torch.encoder import TorchEncoder
from service.config import Settings
from tests.backends.rows import encode_rows

TEXTS = ["the cat eats food", "a dog", "qdrant is a vector database for local search"]


@pytest.fixture()
def model_copy(qwen3_path: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny Qwen3, so this module's cache entries are its own."""
    return Path(shutil.copytree(qwen3_path, tmp_path / "qwen3"))


def test_second_start_reuses_the_export(model_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(onnx_cache_dir=str(tmp_path / "cache"))
    caplog.set_level(logging.INFO)
    started = time.perf_counter()
    first = OnnxEncoder(str(model_copy), settings)
    first_s = time.perf_counter() - started
    assert first.exported
    graph = first.model.path / "model.onnx"
    written = graph.stat().st_mtime_ns
    caplog.clear()

    started = time.perf_counter()
    second = OnnxEncoder(str(model_copy), settings)
    second_s = time.perf_counter() - started
    assert not second.exported and second.model.path == first.model.path
    assert graph.stat().st_mtime_ns == written, "the cached graph was not rewritten"
    assert not any("exported" in r.getMessage() and "torch" in r.name for r in caplog.records)
    assert not any(r.name.endswith("torch_encoder") for r in caplog.records), "torch was not loaded again"
    logging.getLogger(__name__).info("first start %.2fs (export), second %.2fs (cache)", first_s, second_s)
    ids = first.text.tokenize(TEXTS)
    np.testing.assert_array_equal(encode_rows(first, ids), encode_rows(second, ids))


def test_int8_is_built_once(model_copy: Path, tmp_path: Path) -> None:
    settings = Settings(onnx_cache_dir=str(tmp_path / "cache"), onnx_quantize="int8")
    first = OnnxEncoder(str(model_copy), settings)
    int8 = first.model.path / "model.int8.onnx"
    written = int8.stat().st_mtime_ns
    second = OnnxEncoder(str(model_copy), settings)
    assert not second.exported and int8.stat().st_mtime_ns == written


@pytest.mark.parametrize("damage", ["garbage graph", "truncated graph", "missing meta", "missing tokenizer"])
def test_corrupt_entry_is_exported_again_with_a_warning(
    damage: str, model_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(onnx_cache_dir=str(tmp_path / "cache"))
    entry = OnnxEncoder(str(model_copy), settings).model.path
    graph = entry / "model.onnx"
    if damage == "garbage graph":
        graph.write_bytes(b"not a protobuf" * 100)
    elif damage == "truncated graph":
        graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    elif damage == "missing meta":
        (entry / "meta.json").unlink()
    else:
        (entry / "tokenizer.json").unlink()
    caplog.set_level(logging.WARNING)
    encoder = OnnxEncoder(str(model_copy), settings)
    assert encoder.exported
    assert any(r.levelno == logging.WARNING and "corrupt" in r.getMessage() for r in caplog.records)
    ids = encoder.text.tokenize(TEXTS)
    np.testing.assert_allclose(
        encode_rows(encoder, ids), encode_rows(TorchEncoder(str(model_copy), Settings()), ids), atol=1e-4
    )


def test_changed_weights_get_a_new_entry(model_copy: Path, tmp_path: Path) -> None:
    settings = Settings(onnx_cache_dir=str(tmp_path / "cache"))
    before = fingerprint(model_copy)
    first = OnnxEncoder(str(model_copy), settings).model.path
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-4] ^= 0x01  # the lowest mantissa bit of the last weight
    weights.write_bytes(bytes(data))
    assert fingerprint(model_copy) != before
    second = OnnxEncoder(str(model_copy), settings)
    assert second.exported and second.model.path != first
