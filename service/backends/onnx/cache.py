"""The ONNX export cache: one folder per (model fingerprint, exporter version), verified on every start."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Bump when the export recipe changes (inputs, attention kind, optimiser options): old entries are
# then simply never looked up again.
EXPORT_VERSION = "1"
META = "meta.json"

# Files up to this size are hashed whole; larger ones (weights) by size and sampled blocks, so a
# start-up does not read gigabytes just to find its cache entry.
_WHOLE_FILE_BYTES = 8 << 20
_SAMPLES, _SAMPLE_BYTES = 16, 64 << 10


class CorruptEntry(Exception):
    """A cache entry that exists but cannot be trusted (missing file, wrong checksum, bad JSON)."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "embedrank" / "onnx"


def model_folder(name_or_path: str) -> Path:
    """The local folder holding the model's files (a hub id must already be in the Hugging Face cache)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(name_or_path, local_files_only=True))
    except Exception as exc:
        raise RuntimeError(
            f"BACKEND=onnx exports from local files, and {name_or_path!r} is not downloaded: run once "
            "with BACKEND=torch online (or point MODEL_NAME at a folder)"
        ) from exc


def _file_digest(path: Path) -> str:
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        if size <= _WHOLE_FILE_BYTES:
            digest.update(handle.read())
        else:
            for i in range(_SAMPLES):
                handle.seek((size - _SAMPLE_BYTES) * i // (_SAMPLES - 1))
                digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def fingerprint(folder: Path) -> str:
    """A hash of every file of the model (names, sizes, contents; weights sampled)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(f"{path.relative_to(folder).as_posix()}\0{_file_digest(path)}\n".encode())
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """One exported model: `meta.json` (written last) lists every file with its checksum."""

    path: Path

    def meta(self) -> dict[str, Any]:
        """The entry's metadata after checking every file it lists; CorruptEntry when anything is off."""
        try:
            meta: dict[str, Any] = json.loads((self.path / META).read_text())
            files: dict[str, str] = meta["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptEntry(f"{self.path / META} is unreadable: {exc}") from exc
        for name, checksum in files.items():
            file = self.path / name
            if not file.is_file() or sha256_of(file) != checksum:
                raise CorruptEntry(f"{file} is missing or does not match its checksum")
        return meta

    def add_artifact(self, name: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Build a derived model (e.g. int8) next to the export and record it (and any external data
        file it writes, `<name>.*`) in meta.json; until then a half-written one is never trusted."""
        meta = self.meta()
        info = build(self.path / name)
        for file in sorted(self.path.iterdir()):
            if file.name == name or file.name.startswith(f"{name}."):
                meta["files"][file.name] = sha256_of(file)
        meta.setdefault("artifacts", {})[name] = info
        _write_json(self.path / META, meta)
        return meta


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def entry_for(cache_dir: Path, name_or_path: str, kind: str, versions: dict[str, str]) -> CacheEntry:
    """The entry keyed by the model's fingerprint, what it is exported as, and the tool versions."""
    folder = model_folder(name_or_path)
    key_source = json.dumps(
        {"model": fingerprint(folder), "kind": kind, "export": EXPORT_VERSION, **versions}, sort_keys=True
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", folder.name if Path(name_or_path).is_dir() else name_or_path)[-60:]
    return CacheEntry(cache_dir / f"{slug}-{kind}-{key}")


def load_or_export(entry: CacheEntry, export: Callable[[Path], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """(meta, exported): the cached entry when it checks out, else a fresh export (a broken one is
    replaced, with a warning). `export(folder)` writes the files and returns the metadata."""
    if entry.path.exists():
        try:
            return entry.meta(), False
        except CorruptEntry as exc:
            logger.warning("ONNX cache entry is corrupt (%s); exporting again", exc)
            shutil.rmtree(entry.path, ignore_errors=True)
    entry.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.path.with_name(f"{entry.path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        meta = export(tmp)
        meta["files"] = {p.name: sha256_of(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        _write_json(tmp / META, meta)
        try:
            os.rename(tmp, entry.path)
        except OSError:
            # Another process finished the same export first: use its entry.
            logger.info("ONNX cache entry %s appeared meanwhile; using it", entry.path)
            return entry.meta(), False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return meta, True
