"""The one rule for 'no text': a string with no character outside Unicode Cc, Cf, Zs, Zl, Zp (or whitespace)."""

from __future__ import annotations

import unicodedata

# Control, format (zero-width space, BOM, bidi marks, soft hyphen...), and space/line/paragraph separators:
# a text made only of these shows nothing, so a vector or a score for it would be meaningless.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
BLANK_MESSAGE = "must not be empty or only whitespace (invisible characters count as whitespace)"


def has_visible_text(text: str) -> bool:
    """True when `text` holds at least one character outside the invisible categories.

    Stops at the first visible character, so a normal text costs one or two lookups."""
    return any(not char.isspace() and unicodedata.category(char) not in INVISIBLE_CATEGORIES for char in text)
