"""BACKEND=auto: MLX on Apple Silicon when mlx is usable and can run the model, else torch (mps → cuda → cpu)."""

from __future__ import annotations

import importlib.util
import logging
import platform
from dataclasses import dataclass

from service.backends.model_config import is_mlx_format, read_config
from service.backends.registry import ENCODERS
from service.config import Settings
from service.errors import MissingExtra
from service.families import family_for

logger = logging.getLogger(__name__)

EXTRA_OF = {"mlx": ("mlx", "mlx"), "onnx": ("onnxruntime", "onnx"), "torch": ("torch", "torch")}


@dataclass(frozen=True)
class Platform:
    """The facts auto-selection depends on (a dataclass so tests can state them)."""

    system: str
    machine: str
    mlx_importable: bool
    mlx_problem: str | None = None  # why mlx is not importable, for the start-up log

    @classmethod
    def current(cls) -> Platform:
        problem = _mlx_import_problem()
        return cls(platform.system(), platform.machine(), mlx_importable=problem is None, mlx_problem=problem)

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine == "arm64"


def _mlx_import_problem() -> str | None:
    # Importing mlx.core proves the native library loads (plain `mlx` on Linux installs without it);
    # mlx_lm is only located: importing it pulls in transformers, which the backend does anyway.
    try:
        import mlx.core  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"mlx is not usable: {exc}"
    if importlib.util.find_spec("mlx_lm") is None:
        return "mlx-lm is not installed"
    return None


def mlx_source(settings: Settings) -> str | None:
    """What the MLX backend would load: MLX_MODEL_PATH, else MODEL_NAME."""
    return settings.mlx_model_path or settings.model_name


def mlx_model_problem(settings: Settings) -> str | None:
    """Why MLX cannot run the configured embedding model, or None when it can (read from config.json)."""
    source = mlx_source(settings)
    if not source:
        return "no MODEL_NAME or MLX_MODEL_PATH is set, and the embedded all-MiniLM-L6-v2 is a BERT model"
    config = read_config(source)
    if config is None:
        return f"the config.json of {source!r} cannot be read"
    model_type = config.get("model_type")
    family = family_for(model_type)
    if family.pooling != "lasttoken":
        return f"{source!r} is a {model_type!r} model, not a decoder embedder (mlx-lm runs decoders only)"
    return None


def choose_backend(settings: Settings, facts: Platform | None = None) -> tuple[str, str]:
    """The backend to load and a sentence saying why (logged at start-up)."""
    facts = facts or Platform.current()
    if settings.backend != "auto":
        return _explicit(settings, facts)
    if not facts.apple_silicon:
        choice = ("torch", f"{facts.system}/{facts.machine} is not Apple Silicon, so torch (DEVICE={settings.device})")
    elif not facts.mlx_importable:
        choice = ("torch", f"Apple Silicon without MLX ({facts.mlx_problem}; pip install 'embedrank[mlx]'): torch")
    elif "mlx" not in ENCODERS:
        choice = ("torch", "Apple Silicon, but this build has no MLX backend: torch")
    elif problem := mlx_model_problem(settings):
        choice = ("torch", f"Apple Silicon with MLX, but {problem}: torch")
    else:
        choice = ("mlx", f"Apple Silicon with mlx and mlx-lm, and MLX runs {mlx_source(settings)!r}")
    _check_torch_can_load(settings, choice[0])
    return choice[0], f"BACKEND=auto: {choice[1]}"


def _explicit(settings: Settings, facts: Platform) -> tuple[str, str]:
    backend = settings.backend
    if backend not in ENCODERS:
        package, extra = EXTRA_OF[backend]
        raise MissingExtra(package, extra)
    if backend == "mlx":
        if not facts.mlx_importable:
            logger.error("BACKEND=mlx, but %s", facts.mlx_problem)
            raise MissingExtra("mlx", "mlx")  # the extra brings both mlx and mlx-lm
        if problem := mlx_model_problem(settings):
            raise RuntimeError(f"BACKEND=mlx cannot serve this model: {problem}. Use BACKEND=torch or auto.")
        return "mlx", f"BACKEND=mlx was set; MLX runs {mlx_source(settings)!r}"
    if backend == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        raise MissingExtra("onnxruntime", "onnx")
    _check_torch_can_load(settings, backend)
    return backend, f"BACKEND={backend} was set"


def _check_torch_can_load(settings: Settings, backend: str) -> None:
    """Fail at start-up, clearly, when torch is chosen for weights only MLX can read."""
    if backend not in ("torch", "onnx"):  # onnx exports through torch
        return
    if settings.mlx_model_path and not settings.model_name:
        logger.warning(
            "MLX_MODEL_PATH=%s is ignored: MLX is not used here, and torch serves MODEL_NAME "
            "(unset: the embedded all-MiniLM-L6-v2)",
            settings.mlx_model_path,
        )
    config = read_config(settings.model_name) if settings.model_name else None
    if config is not None and is_mlx_format(config):
        raise RuntimeError(
            f"MODEL_NAME={settings.model_name!r} holds MLX-quantised weights, which torch cannot run: use "
            "BACKEND=mlx on Apple Silicon (pip install 'embedrank[mlx]'), or the original Hugging Face model"
        )
