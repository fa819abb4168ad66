"""Start-up calibration verdicts kept on disk: a restart on the same machine, model and libraries reuses the
measured choice instead of timing the model again (0.7-1.8 s for MiniLM, tens of seconds for a 4B model)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from service.backends import calibration
from service.backends.calibration import Verdict

logger = logging.getLogger(__name__)

# Changes whenever what a verdict means changes (the calibration texts, how speed is timed).
PROTOCOL = 1


def default_cache_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "embedrank" / "calibration.json"


def cpu_identity(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name and flags (Linux), else what `platform` knows: a verdict holds for this CPU only."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = ("model name", "flags")
    return " | ".join(next((ln for ln in lines if ln.startswith(key)), "") for key in wanted)


def model_identity(name_or_path: str) -> str | None:
    """The model's files (name, what a link points to, size, mtime) when it is a local folder or in the hub
    cache: new weights under the same name are a new model. None when no folder is found (no caching)."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        from huggingface_hub import try_to_load_from_cache

        try:
            config = try_to_load_from_cache(name_or_path, "config.json")
        except ValueError:  # neither a folder nor a valid hub id
            return None
        if not isinstance(config, str):
            return None
        folder = Path(config).parent
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    facts = [[str(p.relative_to(folder)), p.resolve().name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    return json.dumps([str(folder.resolve()), *facts])


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def verdict_key(candidate: str, kind: str, name_or_path: str, threads: int) -> str | None:
    """What a verdict depends on, hashed: the candidate, the model's files, the CPU, the thread count, the
    libraries that run it and the thresholds that judged it. None when the model cannot be identified."""
    model = model_identity(name_or_path)
    if model is None:
        return None
    facts: dict[str, Any] = {
        "protocol": PROTOCOL,
        "candidate": candidate,
        "kind": kind,
        "model": model,
        "cpu": cpu_identity(),
        "threads": threads,
        "libraries": [_version(p) for p in ("torch", "transformers", "sentence-transformers", "onnxruntime")],
        "thresholds": [calibration.MIN_FIDELITY, calibration.MIN_SPEEDUP],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


class VerdictCache:
    """A JSON file of verdicts by key. A file that cannot be read or written only costs a calibration."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def get(self, key: str | None) -> Verdict | None:
        entry = self._entries().get(key) if key else None
        if not isinstance(entry, dict):
            return None
        logger.info("calibration verdict kept in %s (measured %s)", self.path, entry.get("when"))
        try:
            # No path in the reason: /health, which shows it, is open even with API_KEY set.
            return Verdict(
                bool(entry["take"]), f"{entry['reason']} (measured {entry['when']}; kept in CALIBRATION_CACHE)"
            )
        except KeyError:
            return None

    def put(self, key: str | None, verdict: Verdict) -> None:
        if key is None or self.path is None:
            return
        entries = self._entries()
        entries[key] = {"take": verdict.take, "reason": verdict.reason, "when": time.strftime("%Y-%m-%d %H:%M")}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(entries, indent=1))
            temporary.replace(self.path)  # atomic: two servers starting at once never see half a file
        except OSError as exc:
            logger.warning("could not keep the calibration verdict in %s: %s", self.path, exc)

    def _entries(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
