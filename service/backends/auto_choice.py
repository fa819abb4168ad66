"""TORCH_DTYPE=auto and BACKEND=auto on CPU, measured: bf16 and ONNX are kept only when faster and faithful."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from service.backends.base import Encoder, Scorer
from service.backends.calibration import (
    Measured,
    Verdict,
    judge,
    measure_encoder,
    measure_scorer,
    min_cosine,
    native_bf16,
    score_agreement,
)
from service.backends.calibration_cache import VerdictCache, default_cache_file, verdict_key
from service.backends.registry import load_encoder, load_scorer
from service.config import Settings

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
M = TypeVar("M")


class _Castable(Protocol):
    def cast(self, dtype: str) -> None: ...


class _Kind:
    """What differs between the embedding model and the reranker during calibration."""

    def __init__(self, name: str, onnx_kind: str, measure: Callable[[Any], Measured], fidelity_name: str) -> None:
        self.name = name
        self.onnx_kind = onnx_kind
        self.measure = measure
        self.fidelity_name = fidelity_name

    def fidelity(self, reference: Measured, candidate: Measured) -> float:
        if self.name == "embedding":
            return min_cosine(reference.outputs, candidate.outputs)
        return score_agreement(reference.outputs, candidate.outputs)


EMBEDDING = _Kind("embedding", "encoder", measure_encoder, "min cosine")
RERANKER = _Kind("reranker", "cross-encoder", measure_scorer, "score correlation")


def load_models(backend: str, settings: Settings, progress: Progress) -> tuple[Encoder, Scorer | None, dict[str, str]]:
    """The embedding model (and reranker), each on the precision and runtime chosen for it, and why."""
    choices: dict[str, str] = {}
    progress("loading model")
    encoder: Encoder = load_encoder(backend, settings)
    encoder = _choose(
        EMBEDDING, encoder, backend, settings, progress, choices, partial(load_encoder, backend),
        settings.model_name or _default_model_path(),
    )  # fmt: skip
    scorer: Scorer | None = None
    if settings.cross_encoder_model:
        progress("loading reranker")
        scorer = load_scorer(backend, settings)
        assert scorer is not None
        scorer = _choose(
            RERANKER, scorer, backend, settings, progress, choices, partial(load_scorer, backend),
            settings.cross_encoder_model,
        )  # fmt: skip
    for key, reason in choices.items():
        logger.info("%s: %s", key, reason)
    release_freed_memory()  # the losing candidates' weights and sessions: give their pages back
    return encoder, scorer, choices


def _choose(
    kind: _Kind,
    model: Any,
    backend: str,
    settings: Settings,
    progress: Progress,
    choices: dict[str, str],
    reload: Callable[[Settings], Any],
    name_or_path: str,
) -> Any:
    dtype_key, backend_key = f"{kind.name}_dtype", f"{kind.name}_backend"
    skip = _dtype_auto_skipped(model, backend, settings)
    if skip:
        choices[dtype_key] = skip
        reference = measured = None
    else:
        progress("calibrating precision")
        model, reference, measured, verdict = _bf16_or_fp32(kind, model, settings, reload, name_or_path)
        choices[dtype_key] = f"TORCH_DTYPE=auto: {verdict.reason}"
    skip = _onnx_skipped(kind, model, backend, settings, name_or_path)
    if skip:
        choices[backend_key] = skip
        return model
    progress("calibrating backend")
    onnx_settings = settings.model_copy(update={"onnx_quantize": "none"})
    cache, key = _cache(settings), _key(f"onnx float32 vs torch {model.info.dtype}", kind, name_or_path)
    kept = cache.get(key)
    if kept is not None:
        choices[backend_key] = f"BACKEND=auto: {kept.reason}"
        return _load_onnx(kind, onnx_settings) if kept.take else model
    if reference is None or measured is None:
        # no fp32 timing this start (precision was set, or its verdict was cached): ONNX is compared with
        # the torch model as it runs
        reference = measured = kind.measure(model)
    candidate = _load_onnx(kind, onnx_settings)
    onnx_measured = kind.measure(candidate)
    verdict = judge(
        "onnx float32", f"torch {model.info.dtype}", measured, onnx_measured,
        kind.fidelity(reference, onnx_measured), fidelity_name=kind.fidelity_name,
    )  # fmt: skip
    cache.put(key, verdict)
    choices[backend_key] = f"BACKEND=auto: {verdict.reason}"
    if verdict.take:
        del model
        return candidate
    del candidate
    return model


def _cache(settings: Settings) -> VerdictCache:
    if settings.calibration_cache == "off":
        return VerdictCache(None)
    return VerdictCache(
        Path(settings.calibration_cache).expanduser() if settings.calibration_cache else default_cache_file()
    )


def _key(candidate: str, kind: _Kind, name_or_path: str) -> str | None:
    import torch  # calibration only runs for torch models on CPU: torch is loaded

    return verdict_key(candidate, kind.name, name_or_path, torch.get_num_threads())


def _bf16_or_fp32(
    kind: _Kind, model: Any, settings: Settings, reload: Callable[[Settings], Any], name_or_path: str
) -> tuple[Any, Measured | None, Measured | None, Verdict]:
    """Time float32, cast to bfloat16 in place, time it again, compare; float32 is reloaded when bf16 loses
    (a bf16 → fp32 cast would not give the float32 weights back). A verdict kept from an earlier start on
    the same model, CPU and libraries is used as it is, untimed. Returns (model, fp32 reference, chosen's
    timing, verdict); the timings are None when the verdict came from the cache."""
    cache, key = _cache(settings), _key("bfloat16 vs float32", kind, name_or_path)
    kept = cache.get(key)
    if kept is not None:
        if kept.take:
            cast: _Castable = model
            cast.cast("bfloat16")
        return model, None, None, kept
    reference = kind.measure(model)
    castable: _Castable = model
    castable.cast("bfloat16")
    bf16 = kind.measure(model)
    verdict = judge(
        "bfloat16", "float32", reference, bf16, kind.fidelity(reference, bf16), fidelity_name=kind.fidelity_name
    )
    cache.put(key, verdict)
    if verdict.take:
        return model, reference, bf16, verdict
    del model, castable
    return reload(settings.model_copy(update={"torch_dtype": "float32"})), reference, reference, verdict


def _dtype_auto_skipped(model: Any, backend: str, settings: Settings) -> str | None:
    """Why no bf16 calibration runs (the sentence /health shows), or None when it should."""
    dtype = model.info.dtype
    if settings.torch_dtype != "auto":
        return f"TORCH_DTYPE={settings.torch_dtype} was set: {dtype}"
    if backend != "torch" or model.info.device != "cpu":
        return f"TORCH_DTYPE=auto: {dtype}, the default of {backend} on {model.info.device}"
    flag = native_bf16()
    if flag is None:
        return "TORCH_DTYPE=auto: this CPU has no native bf16 (no avx512_bf16 or amx_bf16 flag): float32"
    if not hasattr(model, "cast"):
        return f"TORCH_DTYPE=auto: this {backend} model cannot change precision: {dtype}"
    return None


def _onnx_skipped(kind: _Kind, model: Any, backend: str, settings: Settings, name_or_path: str) -> str | None:
    """Why ONNX is not calibrated against torch (the sentence /health shows), or None when it is."""
    if settings.backend != "auto":
        return f"BACKEND={settings.backend} was set"
    if backend != "torch" or model.info.device != "cpu":
        return f"BACKEND=auto: {backend} on {model.info.device}"
    if importlib.util.find_spec("onnxruntime") is None:
        return "BACKEND=auto: torch (the onnx extra is not installed, so ONNX is not tried)"
    from service.backends.onnx.common import has_cached_export

    if not has_cached_export(name_or_path, kind.onnx_kind, settings):
        return (
            "BACKEND=auto: torch (ONNX is tried once this model has an ONNX export in ONNX_CACHE_DIR: start "
            "once with BACKEND=onnx to make it)"
        )
    return None


def _load_onnx(kind: _Kind, settings: Settings) -> Any:
    if kind is EMBEDDING:
        return load_encoder("onnx", settings)
    return load_scorer("onnx", settings)


def release_freed_memory() -> None:
    """Return freed heap pages to the OS (glibc's malloc_trim): the float32 weights replaced by bfloat16
    ones, or an ONNX session that lost, would otherwise stay in the resident size. A no-op elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)


def _default_model_path() -> str:
    from service.backends.torch.common import default_model_path

    return default_model_path()
