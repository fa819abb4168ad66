"""Find supported files under the given paths and turn each into plain-text segments."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
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
    streamed: bool = False  # large text: read with stream_segments(path)

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
        if path.is_symlink() and _loops(path):
            skipped.append((str(path), "symlink loop"))
            continue
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
            try:
                resolved = candidate.resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                # A link loop or a dangling link: skip that one entry with the reason, never the whole run.
                reason = "symlink loop" if _loops(candidate) else f"unreadable link ({exc})"
                skipped.append((str(candidate), reason))
                continue
            if resolved not in seen:
                seen.add(resolved)
                files.append(resolved)
    return Discovery(files=files, skipped=skipped)


def _loops(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return True
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    # os.walk does not follow symlinked folders, so link loops cannot hang the walk.
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(root) / name)
    return found


# Plain text and markdown files above this size are streamed in blocks (bounded memory, early writes).
STREAM_BYTES = 8 * 1024 * 1024
BLOCK_BYTES = 1024 * 1024
_STREAMED = (".txt", ".md", ".markdown")


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes, read in blocks (what LoadedDoc.sha256 holds)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                digest.update(block)
    except OSError as exc:
        raise LoadError(exc.strerror or str(exc)) from exc
    return digest.hexdigest()


def streams(path: Path) -> bool:
    """Whether `load_file` streams this file (large plain text / markdown)."""
    try:
        return path.suffix.lower() in _STREAMED and path.stat().st_size > STREAM_BYTES
    except OSError:
        return False


def stream_segments(path: Path, block_bytes: int | None = None) -> Iterator[Segment]:
    """The file as segments of about `block_bytes`, cut at a blank line (else a line end) so chunks stay whole."""
    size = block_bytes or BLOCK_BYTES
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(size)
            data = carry + block
            if not block:
                if data.strip():
                    yield Segment(_decode(data, partial=False))
                return
            cut = data.rfind(b"\n\n")
            cut = cut + 2 if cut > 0 else data.rfind(b"\n") + 1
            if cut <= 0:
                cut = len(data)  # one enormous line: cut anyway, UTF-8 safe below
            head, carry = data[:cut], data[cut:]
            text = _decode(head, partial=True)
            # A cut inside a multi-byte character moves its first bytes to the next block.
            tail = len(head) - len(text.encode("utf-8"))
            if tail:
                carry = head[len(head) - tail :] + carry
            if text.strip():
                yield Segment(text)


def load_file(path: Path, jsonl_field: str = "text") -> LoadedDoc:
    """Read one supported file; raises LoadError with a reason when it cannot be read.

    Large plain text / markdown files (`streams`) come back with no segments and `streamed=True`:
    read them with `stream_segments` (the hash is already computed, in blocks).
    """
    if streams(path):
        with path.open("rb") as handle:
            _decode(handle.read(4096), partial=True)  # fail early on binary content
        kind = "text" if path.suffix.lower() == ".txt" else "markdown"
        return LoadedDoc(path, kind, path.stem, file_sha256(path), [], streamed=True)
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
        return LoadedDoc(path, "jsonl", path.stem, digest, _jsonl_segments(path, text, jsonl_field))
    return LoadedDoc(path, "text", path.stem, digest, [Segment(text)])


def _decode(data: bytes, partial: bool = False) -> str:
    if b"\x00" in data[:4096]:
        raise LoadError("binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A block may end inside a character: keep what decodes, the caller carries the rest over.
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8-sig")
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


def _jsonl_segments(path: Path, text: str, text_field: str) -> list[Segment]:
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
        log.warning("%s: %d invalid JSON lines, %d records without a %r string (skipped)", path, bad, missing,
                    text_field)  # fmt: skip
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
