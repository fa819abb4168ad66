"""TORCH_DTYPE=auto and BACKEND=auto decided by measurement, with real models: both outcomes reachable."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from service.backends import auto_choice, calibration
from service.backends.calibration import Measured, judge, measure_encoder, min_cosine, native_bf16, score_agreement
from service.backends.calibration_cache import VerdictCache, verdict_key
from service.backends.registry import load_encoder
from service.config import Settings
from service.engine.build import build_engine

BF16 = native_bf16()
needs_bf16 = pytest.mark.skipif(BF16 is None, reason="this CPU has no native bf16")


def test_native_bf16_reads_the_cpu_flags(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert native_bf16(info) == "avx512_bf16"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert native_bf16(info) is None
    assert native_bf16(tmp_path / "missing") is None


@pytest.fixture(scope="module")
def minilm_fp32_and_bf16() -> tuple[Measured, Measured]:
    encoder = load_encoder("torch", Settings(torch_dtype="float32"))
    fp32 = measure_encoder(encoder)
    encoder.cast("bfloat16")  # type: ignore[attr-defined]
    return fp32, measure_encoder(encoder)


@needs_bf16
def test_judge_with_real_minilm_timings_takes_or_refuses(minilm_fp32_and_bf16: tuple[Measured, Measured]) -> None:
    fp32, bf16 = minilm_fp32_and_bf16
    cosine = min_cosine(fp32.outputs, bf16.outputs)
    assert 0.999 <= cosine < 1.0  # bf16 really changed the numbers, within the fidelity bound
    taken = judge("bfloat16", "float32", fp32, bf16, cosine, min_speedup=0.0)
    assert taken.take and taken.reason.endswith(": bfloat16") and f"{cosine:.5f}" in taken.reason
    slow = judge("bfloat16", "float32", fp32, bf16, cosine, min_speedup=1000.0)
    assert not slow.take and "not 1000.0x faster: float32" in slow.reason
    unfaithful = judge("bfloat16", "float32", fp32, bf16, cosine, min_fidelity=1.0)
    assert not unfaithful.take and "below 1.0: float32" in unfaithful.reason
    print(f"\nMiniLM calibration: bf16 {fp32.seconds / bf16.seconds:.2f}x fp32, min cosine {cosine:.5f}")


@needs_bf16
def test_a_stricter_fidelity_bound_than_bf16_meets_keeps_fp32(
    qwen3_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bf16's 8-bit mantissa keeps this model's vectors near cosine 0.9999: a 0.999999 bound refuses it.
    monkeypatch.setattr(calibration, "MIN_FIDELITY", 0.999999)
    engine = build_engine(Settings(model_name=str(qwen3_path), torch_dtype="auto", ui_enabled=False))
    reason = engine.choices["embedding_dtype"]
    assert engine.info.dtype == "float32" and reason.endswith("below 0.999999: float32"), reason
    fresh = load_encoder("torch", Settings(model_name=str(qwen3_path), torch_dtype="float32"))
    batches = calibration.encoder_batches(fresh)
    # float32 was reloaded, not cast back: the weights are the checkpoint's, bit for bit.
    np.testing.assert_array_equal(engine.encoder.encode(batches[1]), fresh.encode(batches[1]))


@needs_bf16
def test_minilm_auto_takes_bf16_when_faster_and_fp32_when_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibration, "MIN_SPEEDUP", 0.0)  # any speed: the fidelity bound decides
    engine = build_engine(Settings(torch_dtype="auto", ui_enabled=False))
    assert engine.info.dtype == "bfloat16", engine.choices
    assert "min cosine 0.99" in engine.choices["embedding_dtype"]
    monkeypatch.setattr(calibration, "MIN_SPEEDUP", 1000.0)  # no real speed-up is that large
    engine = build_engine(Settings(torch_dtype="auto", ui_enabled=False))
    assert engine.info.dtype == "float32" and "not 1000.0x faster: float32" in engine.choices["embedding_dtype"]


def test_explicit_settings_skip_calibration_and_say_so(qwen3_path: Path) -> None:
    engine = build_engine(Settings(model_name=str(qwen3_path), torch_dtype="float32", backend="torch"))
    assert engine.choices["embedding_dtype"] == "TORCH_DTYPE=float32 was set: float32"
    assert engine.choices["embedding_backend"] == "BACKEND=torch was set"


@needs_bf16
def test_reranker_follows_the_same_rule(cross_encoder_path: Path, qwen3_path: Path) -> None:
    engine = build_engine(
        Settings(model_name=str(qwen3_path), cross_encoder_model=str(cross_encoder_path), torch_dtype="auto")
    )
    reason = engine.choices["reranker_dtype"]
    assert "score correlation" in reason
    assert engine.scorer is not None
    assert engine.scorer.info.dtype == ("bfloat16" if reason.endswith(": bfloat16") else "float32")


def test_score_agreement_is_order_and_offset_aware() -> None:
    scores = np.array([3.0, -1.0, 0.5, 2.0], np.float32)
    assert score_agreement(scores, scores + 4) == pytest.approx(1.0)
    assert score_agreement(scores, -scores) == pytest.approx(-1.0)  # the order reversed
    assert score_agreement(scores, np.array([3.0, -1.0, 2.0, 0.5], np.float32)) < 0.999  # two passages swapped


def test_backend_auto_tries_onnx_only_with_a_cached_export(qwen3_path: Path, onnx_cache_dir: Path) -> None:
    settings = Settings(model_name=str(qwen3_path), torch_dtype="float32", onnx_cache_dir=str(onnx_cache_dir))
    if not (engine := build_engine(settings)).choices["embedding_backend"].startswith("BACKEND=auto: torch (ONNX is"):
        pytest.skip("an earlier test already exported this model")  # the session shares one ONNX cache
    assert engine.info.backend == "torch"
    load_encoder("onnx", settings)  # the export, as BACKEND=onnx makes it
    engine = build_engine(settings)
    reason = engine.choices["embedding_backend"]
    assert reason.startswith("BACKEND=auto: onnx float32 ran") and "min cosine" in reason
    assert engine.info.backend == ("onnx" if reason.endswith(": onnx float32") else "torch")
    # Both outcomes, with the same real measurements: the thresholds decide.
    for speedup, backend in ((0.0, "onnx"), (1000.0, "torch")):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(calibration, "MIN_SPEEDUP", speedup)
            assert build_engine(settings).info.backend == backend
    assert auto_choice.EMBEDDING.onnx_kind == "encoder"


@needs_bf16
def test_a_restart_reuses_the_measured_verdict(tmp_path: Path) -> None:
    cache = tmp_path / "calibration.json"
    settings = Settings(torch_dtype="auto", calibration_cache=str(cache), ui_enabled=False)
    first = build_engine(settings)
    measured = first.choices["embedding_dtype"]
    assert "kept in CALIBRATION_CACHE" not in measured and cache.is_file()
    (entry,) = json.loads(cache.read_text()).values()
    assert measured == f"TORCH_DTYPE=auto: {entry['reason']}"

    again = build_engine(settings)
    assert again.choices["embedding_dtype"] == f"{measured} (measured {entry['when']}; kept in CALIBRATION_CACHE)"
    assert again.info.dtype == first.info.dtype

    # The kept verdict is used as it is, untimed: flipped in the file, the next start follows it.
    key = next(iter(json.loads(cache.read_text())))
    flipped = not entry["take"]
    cache.write_text(json.dumps({key: {**entry, "take": flipped, "reason": "kept verdict"}}))
    follows = build_engine(settings)
    assert follows.choices["embedding_dtype"].startswith("TORCH_DTYPE=auto: kept verdict (measured")
    assert follows.info.dtype == ("bfloat16" if flipped else "float32")

    # Another thread count is another measurement.
    other = build_engine(settings.model_copy(update={"num_threads": 1}))
    assert "kept in CALIBRATION_CACHE" not in other.choices["embedding_dtype"]
    assert len(json.loads(cache.read_text())) == 2


def test_new_weights_in_the_same_folder_are_another_model(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a" * 64)
    before = verdict_key("bfloat16 vs float32", "embedding", str(tmp_path), 2)
    assert before == verdict_key("bfloat16 vs float32", "embedding", str(tmp_path), 2)
    (tmp_path / "model.safetensors").write_bytes(b"b" * 64)  # same size, a fine-tune say: new mtime
    os.utime(tmp_path / "model.safetensors", ns=(1, 1))
    assert verdict_key("bfloat16 vs float32", "embedding", str(tmp_path), 2) != before
    assert verdict_key("bfloat16 vs float32", "embedding", str(tmp_path / "missing"), 2) is None


def test_an_unreadable_cache_only_costs_a_measurement(tmp_path: Path) -> None:
    broken = tmp_path / "calibration.json"
    broken.write_text("{not json")
    cache = VerdictCache(broken)
    assert cache.get("anything") is None
    cache.put("key", calibration.Verdict(True, "bfloat16 ran 2x"))
    assert cache.get("key") == calibration.Verdict(
        True, f"bfloat16 ran 2x (measured {json.loads(broken.read_text())['key']['when']}; kept in CALIBRATION_CACHE)"
    )
    assert VerdictCache(None).get("key") is None
