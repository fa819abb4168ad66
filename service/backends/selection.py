"""BACKEND=auto: pick MLX on Apple Silicon when it is installed and usable, else torch."""

from __future__ import annotations

import importlib.util
import platform
from dataclasses import dataclass

from service.backends.registry import ENCODERS
from service.config import Settings
from service.errors import MissingExtra

EXTRA_OF = {"mlx": ("mlx", "mlx"), "onnx": ("onnxruntime", "onnx"), "torch": ("torch", "torch")}


@dataclass(frozen=True)
class Platform:
    """The facts auto-selection depends on (a dataclass so tests can state them)."""

    system: str
    machine: str
    mlx_importable: bool

    @classmethod
    def current(cls) -> Platform:
        return cls(
            system=platform.system(),
            machine=platform.machine(),
            mlx_importable=importlib.util.find_spec("mlx") is not None,
        )

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine == "arm64"


def choose_backend(settings: Settings, facts: Platform | None = None) -> tuple[str, str]:
    """The backend to load and a sentence saying why (logged at start-up)."""
    facts = facts or Platform.current()
    if settings.backend != "auto":
        if settings.backend not in ENCODERS:
            package, extra = EXTRA_OF[settings.backend]
            raise MissingExtra(package, extra)
        if settings.backend == "mlx" and not facts.mlx_importable:
            raise MissingExtra("mlx", "mlx")
        return settings.backend, f"BACKEND={settings.backend} was set"
    if facts.apple_silicon and facts.mlx_importable and "mlx" in ENCODERS:
        return "mlx", "Apple Silicon with mlx installed"
    if facts.apple_silicon:
        return "torch", "Apple Silicon without mlx: torch on MPS (pip install 'embedrank[mlx]' for MLX)"
    return "torch", f"{facts.system}/{facts.machine}: torch (cuda if available, else cpu)"
