"""What the ONNX encoder and scorer share: the extra check, the cache entry, int8, session options."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from service.backends.model_config import read_config
from service.backends.onnx.cache import CacheEntry, default_cache_dir, entry_for, load_or_export
from service.backends.onnx.export import MODEL_FILE
from service.backends.onnx.int8 import Feeds, quantise_int8
from service.config import Settings
from service.errors import MissingExtra

logger = logging.getLogger(__name__)

INT8_FILE = "model.int8.onnx"


def import_onnxruntime() -> Any:
    """onnxruntime (and onnx, for the optimiser and quantiser), or a start-up error naming the extra."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as exc:
        raise MissingExtra(exc.name or "onnxruntime", "onnx") from exc
    return onnxruntime


def check_device(settings: Settings) -> None:
    if settings.device not in ("auto", "cpu"):
        raise RuntimeError(
            f"BACKEND=onnx runs on the CPU (onnxruntime's CPU provider); DEVICE={settings.device} needs BACKEND=torch"
        )


def model_type_of(name_or_path: str, supported: set[str] | dict[str, str], what: str) -> str:
    """The model's `model_type`, read from config.json before anything heavy loads; refused if unsupported."""
    model_type = (read_config(name_or_path) or {}).get("model_type")
    if model_type not in supported:
        raise RuntimeError(
            f"BACKEND=onnx exports {what} of types {', '.join(sorted(supported))}; {name_or_path!r} is "
            f"{model_type!r}. Use BACKEND=torch for it."
        )
    return str(model_type)


def _versions() -> dict[str, str]:
    names = ["torch", "transformers", "sentence-transformers", "onnx", "onnxruntime"]
    return {name: metadata.version(name) for name in names}


@dataclass(frozen=True)
class Exported:
    """A model ready for onnxruntime: its cache entry, metadata, and whether this start exported it."""

    entry: CacheEntry
    meta: dict[str, Any]
    exported: bool
    seconds: float

    @property
    def path(self) -> Path:
        return self.entry.path


def exported_model(
    name_or_path: str, kind: str, settings: Settings, export: Callable[[Path], dict[str, Any]]
) -> Exported:
    """The cached export of the model, exporting it first when the cache has no sound entry."""
    cache_dir = Path(settings.onnx_cache_dir).expanduser() if settings.onnx_cache_dir else default_cache_dir()
    started = time.perf_counter()
    entry = entry_for(cache_dir, name_or_path, kind, _versions())
    meta, exported = load_or_export(entry, export)
    seconds = time.perf_counter() - started
    logger.info(
        "ONNX %s %s: %s %s (%.1fs)", kind, name_or_path, "exported to" if exported else "cache hit", entry.path, seconds
    )
    return Exported(entry, meta, exported, seconds)


def model_file(model: Exported, settings: Settings, feeds: Feeds) -> tuple[Path, str]:
    """(graph to run, dtype): the optimised float32 graph, or its int8 version (built once, cached)."""
    if settings.onnx_quantize == "none":
        return model.path / MODEL_FILE, "float32"
    if INT8_FILE not in model.meta.get("artifacts", {}):
        started = time.perf_counter()
        model.meta.update(
            model.entry.add_artifact(INT8_FILE, lambda dst: quantise_int8(model.path / MODEL_FILE, dst, feeds))
        )
        logger.info("ONNX int8 model built in %.1fs", time.perf_counter() - started)
    return model.path / INT8_FILE, "int8"


def new_session(path: Path, settings: Settings) -> Any:
    """An inference session tuned for the batcher's one inference thread and its varying shapes."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.num_threads  # 0 = onnxruntime's default: one per physical core
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Arena on: buffers are reused across batches instead of malloc'd per op; the peak it keeps is
    # bounded by MAX_BATCH_TOKENS. Memory patterns off: they pay only for repeated shapes, and every
    # batch has its own (batch, sequence) shape.
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = False
    # No spin-waiting between ops: the event loop (HTTP, JSON, tokenisation) needs the same cores, and
    # spinning workers starved it: measured through the server, 76 → 127 short texts/s on 2 cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def token_limit(meta: dict[str, Any], settings: Settings) -> int:
    """The exported model's own token limit, capped by MAX_SEQ_LENGTH when set."""
    own_limit = int(meta["max_tokens"])
    return min(own_limit, settings.max_seq_length) if settings.max_seq_length else own_limit


def has_cached_export(name_or_path: str, kind: str, settings: Settings) -> bool:
    """Whether the ONNX cache already holds this model's export (BACKEND=auto tries ONNX only then: an
    export takes a minute or more, too long for a start-up that only wants to compare)."""
    cache_dir = Path(settings.onnx_cache_dir).expanduser() if settings.onnx_cache_dir else default_cache_dir()
    try:
        return entry_for(cache_dir, name_or_path, kind, _versions()).path.is_dir()
    except (RuntimeError, OSError, metadata.PackageNotFoundError):
        return False
