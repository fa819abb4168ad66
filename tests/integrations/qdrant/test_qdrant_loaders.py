"""File discovery and loading for every supported type, including the unreadable ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from qdrant_fixtures import FAQ_RECORDS

from integrations.qdrant.html_text import html_to_markdown
from integrations.qdrant.loaders import LoadError, discover, load_file


def test_discover_walks_folders_for_supported_files_only(notes: Path, tmp_path: Path) -> None:
    found = discover([notes, notes / "gardening.md", tmp_path / "missing", notes / "ignored.bin"])
    names = sorted(path.relative_to(notes).as_posix() for path in found.files)
    assert names == [
        "astronomy.txt", "broken.pdf", "faq.jsonl", "gardening.md", "latin1.txt", "recipes.html", "sub/manual.pdf",
    ]  # fmt: skip
    assert dict(found.skipped) == {
        str(tmp_path / "missing"): "not found",
        str(notes / "ignored.bin"): "unsupported file type .bin",
    }


def test_markdown_title_from_front_matter_and_body_without_it(notes: Path) -> None:
    doc = load_file(notes / "gardening.md")
    assert doc.kind == "markdown" and doc.markdown
    assert doc.title == "Vegetable garden notes"
    assert doc.segments[0].text.startswith("# Vegetable garden")
    assert len(doc.sha256) == 64


def test_html_drops_scripts_and_styles_and_keeps_headings(notes: Path) -> None:
    doc = load_file(notes / "recipes.html")
    text = doc.segments[0].text
    assert doc.title == "Bread baking"
    assert "SECRETSCRIPTTOKEN" not in text and "SECRETSTYLETOKEN" not in text
    assert "# Sourdough bread" in text and "## Baking" in text
    assert "wild yeast" in text


def test_html_inline_markup_entities_and_lists() -> None:
    text, title = html_to_markdown(
        "<h2>Big <b>bold</b> title</h2><p>a &amp; b<br>c</p><ul><li>one</li><li>two</li></ul><noscript>x</noscript>"
    )
    assert title is None
    assert text == "## Big bold title\n\na & b\nc\n\n- one\n- two"


def test_pdf_pages_are_numbered_from_one(notes: Path) -> None:
    pytest.importorskip("pypdf")
    doc = load_file(notes / "sub" / "manual.pdf")
    assert doc.kind == "pdf" and doc.title == "Bicycle manual"
    assert [segment.page for segment in doc.segments] == [1, 2]
    assert "chain lubricant" in doc.segments[0].text and "gauge" in doc.segments[1].text


def test_jsonl_reads_the_configured_field_and_skips_bad_lines(notes: Path) -> None:
    doc = load_file(notes / "faq.jsonl")
    assert [(s.record, s.text) for s in doc.segments] == [(1, FAQ_RECORDS[0]["text"]), (2, FAQ_RECORDS[1]["text"])]
    other = load_file(notes / "faq.jsonl", jsonl_field="body")
    assert [s.record for s in other.segments] == [3]
    with pytest.raises(LoadError, match="no record has a non-empty 'nope'"):
        load_file(notes / "faq.jsonl", jsonl_field="nope")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("broken.pdf", "unreadable PDF"), ("latin1.txt", "not valid UTF-8")],
)
def test_unreadable_files_raise_a_reason(notes: Path, name: str, reason: str) -> None:
    pytest.importorskip("pypdf")
    with pytest.raises(LoadError, match=reason):
        load_file(notes / name)


def test_binary_and_permission_denied(tmp_path: Path) -> None:
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"abc\x00def")
    with pytest.raises(LoadError, match="binary"):
        load_file(binary)
    locked = tmp_path / "locked.md"
    locked.write_text("# secret")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):  # root reads anything; nothing to test then
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(LoadError, match="Permission denied"):
            load_file(locked)
    finally:
        locked.chmod(0o644)


def test_jsonl_warning_names_the_file(notes: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="integrations.qdrant.loaders")
    load_file(notes / "faq.jsonl")
    assert any(str(notes / "faq.jsonl") in r.getMessage() and "1 invalid JSON lines" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_stream_segments_cut_at_paragraphs_and_keep_every_character(tmp_path: Path) -> None:
    from integrations.qdrant.loaders import stream_segments

    text = "".join(f"paragraph {i} — café ünïcode {'x' * (i % 7)}\n\n" for i in range(400))
    path = tmp_path / "t.txt"
    path.write_text(text)
    segments = list(stream_segments(path, block_bytes=333))  # odd size: cuts inside multi-byte characters
    assert len(segments) > 10 and "".join(s.text for s in segments) == text
    assert all(s.text.endswith("\n\n") for s in segments[:-1])
