"""Drive the console in headless Chromium (Debian's, through Playwright): shared by the test and the screenshot."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
# No GPU, no network: everything that would phone home or probe hardware is off.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000

QUERY = "How do I store embeddings for search?"
PASSAGES = [
    "Qdrant is a vector database: it stores embeddings and finds the nearest ones.",
    "n8n workflows can call any HTTP API, including this server.",
    "The girl is carrying a baby.",
    "Cosine similarity compares two embedding vectors.",
    "LM Studio runs local language models on a laptop.",
]


def browser_missing() -> str | None:
    """Why no browser test can run here, or None when Playwright and Debian's Chromium are present."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install playwright; never `playwright install`)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A fresh page in headless Chromium; the browser closes afterwards."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def rerank_in_console(page: Page, base_url: str, query: str, passages: Sequence[str]) -> list[str]:
    """Open /ui, fill the Rerank tab, click Rerank; the ranked passages as the page shows them."""
    page.goto(f"{base_url}/ui/")
    page.get_by_role("tab", name="Rerank").click()
    page.locator("#rerank-query textarea").fill(query)
    page.locator("#rerank-passages textarea").fill("\n".join(passages))
    page.locator("#rerank-run").click()
    page.locator("#rerank-latency").get_by_text(" ms (").wait_for()
    # Gradio's table is virtualised: rows are role=row divs, cells carry data-testid="cell-<row>-<col>".
    rows = page.locator("#rerank-left [role=row].virtual-row")
    ranked = []
    for row in range(rows.count()):
        ranked.append(page.locator(f'#rerank-left [data-testid="cell-{row}-4"]').inner_text().strip())
    return ranked


def embed_in_console(page: Page, base_url: str, texts: Sequence[str]) -> str:
    """Open /ui, embed `texts` in the Embed tab; the heatmap's text as the page shows it."""
    page.goto(f"{base_url}/ui/")
    page.locator("#embed-texts textarea").fill("\n".join(texts))
    page.locator("#embed-run").click()
    page.locator("#embed-latency").get_by_text(" ms (").wait_for()
    heatmap = page.locator("#embed-heatmap-table")
    heatmap.wait_for()
    return heatmap.inner_text()
