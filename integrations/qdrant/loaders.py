"""Find supported files under the given paths and turn each into plain-text segments."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from integrations.qdrant.html_text import html_to_markdown

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".jsonl")


class LoadError(Exception):
    """A file that cannot be read; the message is the user-facing reason."""


@dataclass(frozen=True)
class Segment:
    """A run of text that chunks never cross: a whole text file, one PDF page, one JSONL record."""

    text: str
    page: int | None = None  # 1-based PDF page
    record: int | None = None  # 1-based JSONL line number


@dataclass
class LoadedDoc:
    """One file's text plus what the payload metadata needs."""

    path: Path
    kind: str  # "markdown" | "text" | "html" | "pdf" | "jsonl"
    title: str
    sha256: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def markdown(self) -> bool:
        """Whether '#' lines are headings (HTML headings are converted to markdown ones)."""
        return self.kind in ("markdown", "html")


@dataclass(frozen=True)
class Discovery:
    """Files to load plus the named paths that cannot be (with a reason)."""

    files: list[Path]
    skipped: list[tuple[str, str]]


def discover(paths: Sequence[str | os.PathLike[str]]) -> Discovery:
    """Walk files and folders; folders yield supported files only, hidden entries are ignored."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            skipped.append((str(path), "not found"))
            continue
        if path.is_file():
            candidates: Iterable[Path] = [path]
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append((str(path), f"unsupported file type {path.suffix or '(none)'}"))
                continue
        else:
            candidates = _walk(path)
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(resolved)
    return Discovery(files=files, skipped=skipped)


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    # os.walk does not follow symlinked folders, so link loops cannot hang the walk.
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(root) / name)
    return found


def load_file(path: Path, jsonl_field: str = "text") -> LoadedDoc:
    """Read one supported file; raises LoadError with a reason when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(exc.strerror or str(exc)) from exc
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _load_pdf(path, data, digest)
    text = _decode(data)
    if suffix in (".md", ".markdown"):
        body, title = _strip_front_matter(text)
        title = title or _first_heading(body) or path.stem
        return LoadedDoc(path, "markdown", title, digest, [Segment(body)])
    if suffix in (".html", ".htm"):
        body, title = html_to_markdown(text)
        title = title or _first_heading(body) or path.stem
        return LoadedDoc(path, "html", title, digest, [Segment(body)])
    if suffix == ".jsonl":
        return LoadedDoc(path, "jsonl", path.stem, digest, _jsonl_segments(text, jsonl_field))
    return LoadedDoc(path, "text", path.stem, digest, [Segment(text)])


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise LoadError("binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (byte {exc.start})") from exc


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_TITLE_LINE = re.compile(r"^title:\s*['\"]?(.*?)['\"]?\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _strip_front_matter(text: str) -> tuple[str, str | None]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, None
    title = _TITLE_LINE.search(match.group(1))
    return text[match.end() :], (title.group(1) if title else None)


def _first_heading(text: str) -> str | None:
    match = _HEADING.search(text)
    return match.group(1) if match else None


def _jsonl_segments(text: str, text_field: str) -> list[Segment]:
    segments: list[Segment] = []
    bad = missing = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        value = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(value, str) or not value.strip():
            missing += 1
            continue
        segments.append(Segment(value, record=number))
    if bad or missing:
        log.warning("jsonl: %d invalid lines, %d records without a %r string", bad, missing, text_field)
    if not segments and (bad or missing):
        raise LoadError(f"no record has a non-empty {text_field!r} string field ({bad} invalid lines)")
    return segments


def _load_pdf(path: Path, data: bytes, digest: str) -> LoadedDoc:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:  # the qdrant extra brings pypdf
        raise LoadError("PDF support needs pypdf: pip install 'embedrank[qdrant]'") from exc
    import io

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF")
        pages = [Segment(page.extract_text() or "", page=number) for number, page in enumerate(reader.pages, 1)]
        meta_title = reader.metadata.title if reader.metadata else None
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"unreadable PDF: {exc}") from exc
    segments = [segment for segment in pages if segment.text.strip()]
    if pages and not segments:
        raise LoadError("PDF has no extractable text (scanned images need OCR first)")
    return LoadedDoc(path, "pdf", str(meta_title or path.stem), digest, segments)
