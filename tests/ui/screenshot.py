"""Make the README's console screenshots with the browser test's own code: `python -m tests.ui.screenshot`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tests.live_server import REPO, live_server
from tests.ui.browser import PASSAGES, QUERY, browser_missing, chromium_page, embed_in_console, rerank_in_console

EMBED_TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Qdrant is a vector database written in Rust.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs (default docs/)")
    args = parser.parse_args()
    missing = browser_missing()
    if missing:
        parser.error(missing)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with live_server(env={"GRADIO_ANALYTICS_ENABLED": "False"}) as base_url, chromium_page(1280, 800) as page:
        rerank_in_console(page, base_url, "warm-up", ["one", "two"])  # the first inference is slow
        ranked = rerank_in_console(page, base_url, QUERY, PASSAGES)
        page.screenshot(path=str(args.out / "console.png"), full_page=True)
        embed_in_console(page, base_url, EMBED_TEXTS)
        page.screenshot(path=str(args.out / "console-embed.png"), full_page=True)
    print(f"ranked: {ranked}")
    print(f"wrote {args.out / 'console.png'} and {args.out / 'console-embed.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
