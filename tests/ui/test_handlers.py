"""The Embed, Rerank and Status handlers, called directly on real apps (MiniLM, tiny cross-encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pytest

from tests.conftest import AppClient
from ui.handlers import EMBED_COLUMNS, RANK_COLUMNS, ConsoleHandlers, api_keys, lines

FOOD = "A man is eating food."
BREAD = "A man is eating a piece of bread."
BABY = "The girl is carrying a baby."


def console_of(client: Any) -> ConsoleHandlers:
    handlers: ConsoleHandlers = client.app.state.console
    return handlers


def test_lines_drops_blank_lines_and_whitespace() -> None:
    assert lines("  a \n\n b\n   \n") == ["a", "b"]
    assert lines("") == []


async def test_embed_table_and_heatmap_match_the_engine(minilm: Any) -> None:
    console = console_of(minilm)
    table, heatmap, summary = await console.embed(f"{FOOD}\n{BREAD}\n\n{BABY}\n", "document", None)
    assert list(table.columns) == EMBED_COLUMNS
    assert table["dims"].tolist() == [384, 384, 384]
    engine = console.bridge.engine()
    assert table["tokens"].tolist() == await engine.count_tokens([FOOD, BREAD, BABY])
    raw = (await engine.embed([FOOD, BREAD, BABY], normalize=False)).vectors
    assert np.allclose(table["norm"].to_numpy(float), np.linalg.norm(raw, axis=1), atol=1e-3)
    # Reference cosines of all-MiniLM-L6-v2 (ENVIRONMENT.md): 0.755 and -0.10.
    assert '<td title="#1 vs #2: 0.75' in heatmap
    assert '<td title="#1 vs #3: -0.1' in heatmap
    assert heatmap.count(">1.00</td>") == 3  # the diagonal
    assert "embedded 3 as document" in summary


async def test_embed_matryoshka_dimensions_and_query_prompt(app_client: AppClient, qwen3_path: Path) -> None:
    async with app_client(model_name=str(qwen3_path)) as client:
        console = console_of(client)
        table, _, _ = await console.embed("alpha beta\ngamma", "document", 16)
        assert table["dims"].tolist() == [16, 16]
        as_document, _, _ = await console.embed("alpha beta", "document", None)
        as_query, _, summary = await console.embed("alpha beta", "query", None)
        # Qwen3 queries carry the instruction prompt: more tokens, another vector.
        assert as_query["tokens"][0] > as_document["tokens"][0]
        assert as_query["first values"][0] != as_document["first values"][0]
        assert "as query" in summary


async def test_embed_errors_are_shown_on_the_page(minilm: Any) -> None:
    console = console_of(minilm)
    with pytest.raises(gr.Error, match="must not be empty"):
        await console.embed("\n \n", "document", None)
    with pytest.raises(gr.Error, match="dimensions must be between 1 and 384"):
        await console.embed(FOOD, "document", 999)


async def test_rerank_bi_encoder_ranks_and_hides_the_second_column(minilm: Any) -> None:
    console = console_of(minilm)
    passages = "Qdrant is a Rust-based vector database\nn8n can call Qdrant over HTTP\nLM Studio runs local models"
    title, table, chart, right, right_title, right_table, _, latency = await console.rerank(
        "How to integrate Qdrant?", passages, 2, "bi-encoder"
    )
    assert list(table.columns) == RANK_COLUMNS
    # The README's /rerank example: the same order and scores as the API.
    assert table["#"].tolist() == [1, 0]
    assert table["score"].tolist() == pytest.approx([0.376, 0.277], abs=2e-3)
    assert table["passage"][0] == "n8n can call Qdrant over HTTP"
    assert chart["score"].tolist() == pytest.approx(table["score"].tolist(), abs=1e-4)
    assert "bi-encoder" in title and right == {"__type__": "update", "visible": False}
    assert right_title == "" and right_table.empty
    assert latency.startswith("**bi-encoder**:") and " ms (" in latency
    assert console.rerank_methods()["choices"] == ["bi-encoder"]


async def test_rerank_both_puts_bi_and_cross_encoder_side_by_side(
    app_client: AppClient, cross_encoder_path: Path
) -> None:
    passages = ["the cat sat on the mat", "dogs bark at night", "a cat and a dog", "stock prices fell"]
    async with app_client(cross_encoder_model=str(cross_encoder_path)) as client:
        console = console_of(client)
        methods = console.rerank_methods()
        assert methods["choices"] == ["both", "cross-encoder", "bi-encoder"] and methods["value"] == "both"
        left_title, left, _, right, right_title, right_table, right_chart, latency = await console.rerank(
            "where is the cat", "\n".join(passages), None, "both"
        )
        engine = console.bridge.engine()
        bi = await engine.rerank("where is the cat", passages, method="bi-encoder")
        cross = await engine.rerank("where is the cat", passages, method="cross-encoder")
    assert "bi-encoder" in left_title and "cross-encoder" in right_title
    assert right == {"__type__": "update", "visible": True}
    assert left["#"].tolist() == [item.index for item in bi.items]
    assert right_table["#"].tolist() == [item.index for item in cross.items]
    assert right_table["score"].tolist() == pytest.approx([item.score for item in cross.items], abs=1e-4)
    assert right_table["raw"].tolist() == pytest.approx([item.raw_score for item in cross.items], abs=1e-4)
    assert all(0 <= s <= 1 for s in right_chart["score"])
    assert "**bi-encoder**" in latency and "**cross-encoder**" in latency


async def test_rerank_cross_encoder_without_one_says_how_to_get_it(minilm: Any) -> None:
    with pytest.raises(gr.Error, match="CROSS_ENCODER_MODEL"):
        await console_of(minilm).rerank("q", "a\nb", None, "cross-encoder")


async def test_status_shows_model_cross_encoder_counters_and_docs(
    app_client: AppClient, cross_encoder_path: Path
) -> None:
    async with app_client(cross_encoder_model=str(cross_encoder_path)) as client:
        console = console_of(client)
        await console.embed(FOOD, "document", None)
        await console.embed(FOOD, "document", None)  # a cache hit
        status = await console.status()
    assert "| model | sentence-transformers/all-MiniLM-L6-v2 |" in status
    assert "| dim | 384 |" in status and "| device | cpu |" in status
    assert f"| cross-encoder | {cross_encoder_path}" in status
    assert "| API key | off |" in status
    assert "| embed |" in status and "| score |" in status  # both batchers
    assert "| cache | " in status and "hit rate" in status
    assert "| uptime | " in status
    assert "[/docs](../docs)" in status


def test_api_keys_are_read_defensively() -> None:
    class Old:  # a build from before API_KEY existed
        pass

    class Plain:
        api_key = " k1 , k2 "

    assert api_keys(Old()) == []  # type: ignore[arg-type]
    assert api_keys(Plain()) == ["k1", "k2"]  # type: ignore[arg-type]
