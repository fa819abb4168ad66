"""Extract readable text from HTML (stdlib parser), turning h1-h6 into markdown headings."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Content of these elements is never prose a reader sees.
_DROP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas"})
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "blockquote",
        "pre", "table", "tr", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "hr", "form",
        "address", "details", "summary",
    }
)  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
# Void elements never get an end tag, so they must not open a drop scope.
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source"})


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self._drop_depth = 0
        self._in_title = False
        self._title_parts: list[str] = []
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            return
        if tag in _DROP and tag not in _VOID:
            self._drop_depth += 1
            return
        if self._drop_depth:
            return
        if tag in _HEADINGS:
            self.parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCK:
            self.parts.append("\n\n")
        if tag == "pre":
            self._pre_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            self.title = " ".join("".join(self._title_parts).split()) or None
            return
        if tag in _DROP:
            self._drop_depth = max(0, self._drop_depth - 1)
            return
        if self._drop_depth:
            return
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        if tag in _HEADINGS or tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif not self._drop_depth:
            # Source newlines inside prose are layout, not structure; <pre> keeps them.
            self.parts.append(data if self._pre_depth else re.sub(r"\s+", " ", data))


def html_to_markdown(html: str) -> tuple[str, str | None]:
    """Return (text with '#' headings, <title> or None); scripts, styles and <head> are dropped."""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.splitlines()]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    # A heading tag wrapping inline markup leaves "# " on its own line before the words.
    text = re.sub(r"^(#{1,6})\s*\n+(?=\S)", r"\1 ", text, flags=re.MULTILINE)
    return text, parser.title
