"""Writes embedrank_reranker.json (Open WebUI's Functions import format) from embedrank_reranker.py."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "embedrank_reranker.py"
TARGET = HERE / "embedrank_reranker.json"
FUNCTION_ID = "embedrank_reranker"

# Open WebUI's frontmatter rules: first line exactly """, then `key: value` lines up to the next """.
_LINE = re.compile(r"^\s*([a-z_]+):\s*(.*)\s*$", re.IGNORECASE)


def extract_frontmatter(content: str) -> dict[str, str]:
    lines = content.splitlines()
    if not lines or lines[0].strip() != '"""':
        return {}
    found: dict[str, str] = {}
    for line in lines[1:]:
        if '"""' in line:
            break
        match = _LINE.match(line)
        if match:
            found[match.group(1).strip()] = match.group(2).strip()
    return found


def build(source: Path = SOURCE) -> list[dict[str, Any]]:
    """The array Admin Panel -> Functions -> Import accepts: one entry per function."""
    content = source.read_text(encoding="utf-8")
    manifest = extract_frontmatter(content)
    return [
        {
            "id": FUNCTION_ID,
            "name": manifest.get("title", FUNCTION_ID),
            "type": "filter",
            "content": content,
            "meta": {"description": manifest.get("description", ""), "manifest": manifest},
            "is_active": False,
            "is_global": False,
        }
    ]


def render(source: Path = SOURCE) -> str:
    return json.dumps(build(source), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the JSON is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.name} is out of date: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
