"""The console in a real browser: the real server on 127.0.0.1, driven in headless Chromium with Playwright."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server
from tests.ui.browser import PASSAGES, QUERY, browser_missing, chromium_page, embed_in_console, rerank_in_console

FOOD, BREAD, BABY = "A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."
MISSING = browser_missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def test_rerank_and_embed_tabs_in_chromium(tmp_path: Path) -> None:
    with live_server(env={"GRADIO_ANALYTICS_ENABLED": "False"}) as base_url:
        api = httpx.post(
            f"{base_url}/rerank", json={"query": QUERY, "passages": PASSAGES, "use_cross_encoder": False}, timeout=60
        ).json()
        with chromium_page() as page:
            ranked = rerank_in_console(page, base_url, QUERY, PASSAGES)
            page.screenshot(path=str(tmp_path / "console-rerank.png"), full_page=True)
            heatmap = embed_in_console(page, base_url, [FOOD, BREAD, BABY])
            page.screenshot(path=str(tmp_path / "console-embed.png"), full_page=True)
    # The page shows the same ranking as the HTTP API of the same server.
    assert ranked == [item["text"] for item in api["results"]]
    assert ranked[0].startswith("Qdrant is a vector database")
    # all-MiniLM-L6-v2's reference cosines (ENVIRONMENT.md): food vs bread 0.755, food vs baby -0.10.
    food_row = next(line for line in heatmap.splitlines() if line.startswith("#1 "))
    assert food_row.split("\t")[1:] == ["1.00", "0.76", "-0.10"]
    assert (tmp_path / "console-rerank.png").stat().st_size > 20_000
