"""Token-aware recursive chunking: headings, then paragraphs, lines, sentences, words."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from integrations.qdrant.loaders import Segment

TokenCounter = Callable[[str], int]

_WORDISH = re.compile(r"[A-Za-z]+|\d+|[^\W\d_A-Za-z]+|[^\w\s]|_")


def approx_tokens(text: str) -> int:
    """Estimate subword tokens without a tokenizer (the service exposes none over HTTP).

    ASCII words count ceil(len/4), digit runs ceil(len/3), each punctuation mark and non-ASCII
    letter 1. Against all-MiniLM-L6-v2's WordPiece this reads 3-36% high on English prose,
    markdown and CJK, and up to ~12% low on code full of rare identifiers
    (tests/integrations/qdrant/test_qdrant_chunker.py checks both bounds); BPE tokenizers
    (Qwen3) need fewer tokens for English. Ingest keeps chunks at <= 80% of the model window.
    """
    count = 0
    for match in _WORDISH.finditer(text):
        word = match.group()
        if word.isascii() and word.isalpha():
            count += math.ceil(len(word) / 4)
        elif word.isdigit():
            count += math.ceil(len(word) / 3)
        elif not word.isascii() and word.isalpha():
            count += len(word)
        else:
            count += 1
    return count


@dataclass(frozen=True)
class ChunkConfig:
    """Chunk size and overlap, both in (approximate) tokens."""

    size: int = 200
    overlap: int = 30

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError("chunk size must be at least 8 tokens")
        if not 0 <= self.overlap < self.size // 2:
            raise ValueError("overlap must be >= 0 and less than half the chunk size")

    @property
    def fingerprint(self) -> str:
        """Stored with each chunk so a change of settings re-chunks unchanged files."""
        return f"v1:{self.size}:{self.overlap}"


@dataclass(frozen=True)
class Chunk:
    """One piece of a document, ready to embed."""

    text: str
    headings: tuple[str, ...]
    page: int | None
    record: int | None
    tokens: int


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def split_sections(text: str, markdown: bool) -> list[tuple[tuple[str, ...], str]]:
    """Cut text at markdown headings (outside code fences); each section keeps its heading path."""
    if not markdown:
        return [((), text)]
    sections: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    current: list[str] = []
    path: tuple[str, ...] = ()
    in_fence = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line.rstrip("\n"))
        if match:
            sections.append((path, "".join(current)))
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2)))
            path = tuple(title for _, title in stack)
            current = [line]
        else:
            current.append(line)
    sections.append((path, "".join(current)))
    # A heading with no body of its own lives on in its children's heading paths.
    return [(p, body) for p, body in sections if _has_body(body)]


def _has_body(section: str) -> bool:
    lines = [line for line in section.splitlines() if line.strip()]
    return bool(lines) and not (len(lines) == 1 and _MD_HEADING.match(lines[0]))


_SENTENCE_END = r"(?<=[.!?。！？])\s+"
_SEPARATORS = (r"\n\s*\n", r"\n", _SENTENCE_END, r"\s+")


def _split_keep(text: str, pattern: str) -> list[str]:
    """Split after each separator match, keeping it on the left part so ''.join() restores text."""
    parts: list[str] = []
    start = 0
    for match in re.finditer(pattern, text):
        if match.end() > start and match.start() > start:
            parts.append(text[start : match.end()])
            start = match.end()
    parts.append(text[start:])
    return [part for part in parts if part]


def _pieces(text: str, size: int, count: TokenCounter, level: int = 0) -> list[str]:
    """Split recursively, coarsest separator first, until every piece fits `size` tokens."""
    if count(text) <= size:
        return [text]
    if level == len(_SEPARATORS):
        return _hard_cut(text, size, count)
    out: list[str] = []
    for part in _split_keep(text, _SEPARATORS[level]):
        out.extend(_pieces(part, size, count, level + 1) if count(part) > size else [part])
    return out


def _hard_cut(text: str, size: int, count: TokenCounter) -> list[str]:
    """Last resort for one enormous 'word' (a hash, a URL, minified code): cut by characters."""
    width = max(1, len(text) * size // max(1, count(text)))
    while width > 1 and count(text[:width]) > size:
        width = width * 3 // 4
    return [text[i : i + width] for i in range(0, len(text), width)]


def _tail(pieces: Sequence[str], budget: int, count: TokenCounter) -> str:
    """The end of a chunk, at most `budget` tokens, on piece or sentence boundaries."""
    kept: list[str] = []
    used = 0
    for piece in reversed(pieces):
        tokens = count(piece)
        if used + tokens <= budget:
            kept.insert(0, piece)
            used += tokens
            continue
        for sentence in reversed(_split_keep(piece, _SENTENCE_END)):
            tokens = count(sentence)
            if used + tokens > budget:
                break
            kept.insert(0, sentence)
            used += tokens
        break
    return "".join(kept)


def _merge(pieces: Sequence[str], config: ChunkConfig, count: TokenCounter) -> list[str]:
    """Greedily pack pieces up to the size; each new chunk starts with the last one's tail."""
    chunks: list[str] = []
    window: list[str] = []
    used = 0
    for piece in pieces:
        tokens = count(piece)
        if window and used + tokens > config.size:
            chunks.append("".join(window))
            tail = _tail(window, config.overlap, count) if config.overlap else ""
            fits = bool(tail.strip()) and count(tail) + tokens <= config.size
            window, used = ([tail], count(tail)) if fits else ([], 0)
        window.append(piece)
        used += tokens
    if window:
        chunks.append("".join(window))
    return chunks


def chunk_segments(
    segments: Sequence[Segment],
    markdown: bool,
    config: ChunkConfig | None = None,
    count: TokenCounter = approx_tokens,
) -> list[Chunk]:
    """Chunk a document's segments; chunks never cross a segment (page, record) or a heading."""
    config = config or ChunkConfig()
    chunks: list[Chunk] = []
    for segment in segments:
        for headings, body in split_sections(segment.text, markdown):
            for text in _merge(_pieces(body, config.size, count), config, count):
                text = text.strip()
                if text:
                    chunks.append(Chunk(text, headings, segment.page, segment.record, count(text)))
    return chunks


def refit(chunks: Sequence[Chunk], exact: Sequence[int], window: int, config: ChunkConfig) -> list[Chunk]:
    """Take exact token counts (from the service's tokenizer) and re-split what the model would truncate.

    The estimate can run low on unusual text; a chunk over `window` is cut again with a size scaled
    down by how far it overshot (its parts keep estimated counts).
    """
    fitted: list[Chunk] = []
    for chunk, tokens in zip(chunks, exact, strict=True):
        if tokens <= window:
            fitted.append(replace(chunk, tokens=tokens))
            continue
        size = max(8, int(min(config.size, window) * window / tokens * 0.9))
        smaller = ChunkConfig(size=size, overlap=min(config.overlap, size // 2 - 1))
        for text in _merge(_pieces(chunk.text, size, approx_tokens), smaller, approx_tokens):
            if text.strip():
                fitted.append(replace(chunk, text=text.strip(), tokens=approx_tokens(text.strip())))
    return fitted
