"""The Search tab over a real local Qdrant collection written by the ingest helper, all in-process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from ui.search import SEARCH_COLUMNS, ConsoleStore, InProcessService, SearchHandlers

pytest.importorskip("qdrant_edge", reason="the Search tab needs the qdrant extra: pip install 'embedrank[qdrant]'")

NOTES = {
    "qdrant.md": "# Qdrant\n\nQdrant is a vector database. It stores embeddings and finds the nearest ones fast.",
    "horses.md": "# Horses\n\nA man is riding a horse across the field at dawn.",
    "cooking.txt": "Bread is baked from flour, water, salt and yeast in a hot oven.",
}


def test_in_process_service_answers_everything_the_http_client_does() -> None:
    """The helper may call any public method of its client: each needs an in-process answer (no HTTP)."""
    from integrations.qdrant.service_client import EmbedrankClient

    def public(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_") and callable(getattr(cls, name))}

    assert public(EmbedrankClient) <= public(InProcessService)


async def test_in_process_token_counts_leave_out_special_tokens(minilm: Any) -> None:
    bridge = minilm.app.state.console.bridge
    texts = ["A man is eating food.", "Qdrant"]
    counts = await asyncio.to_thread(InProcessService(bridge).count_tokens, texts)
    tokenizer = bridge.engine().encoder.tokenizer  # [CLS] ... [SEP] for MiniLM
    assert counts == [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    assert counts == [n - 2 for n in await bridge.engine().count_tokens(texts)]


@pytest.fixture()
async def collection(minilm: Any, tmp_path: Path) -> tuple[Any, Path]:
    """Three small notes ingested with the same in-process Engine the console uses (no HTTP)."""
    from integrations.qdrant import QdrantTarget, ingest_paths

    docs = tmp_path / "notes"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text)
    store = tmp_path / "qdrant"
    service = InProcessService(minilm.app.state.console.bridge)
    report = await asyncio.to_thread(
        ingest_paths,
        [docs],
        "notes",
        qdrant=QdrantTarget(path=str(store)),
        service=service,  # type: ignore[arg-type]
    )
    assert report.files_seen == 3
    return minilm, store


async def test_search_finds_the_chunk_with_its_source(collection: tuple[Any, Path]) -> None:
    client, store = collection
    handlers = SearchHandlers(client.app.state.console.bridge, ConsoleStore(path=str(store), collections=("notes",)))
    table, summary = await handlers.search("Which database stores vectors?", "notes", 2, 10, "auto")
    assert list(table.columns) == SEARCH_COLUMNS and len(table) == 2
    top = table.iloc[0]
    assert top["source"].endswith("qdrant.md") and "vector database" in top["text"]
    assert top["chunk"] == 0 and top["score"] == top["vector score"]
    # No cross-encoder loaded: "auto" keeps the store's order (a MiniLM rerank would recompute the cosines).
    assert "found by hybrid, store order only" in summary and "`notes`" in summary


MODES = [("bm25", "flour yeast", "cooking.txt"), ("dense", "Which database stores vectors?", "qdrant.md")]


@pytest.mark.parametrize(("mode", "query", "name"), MODES)
async def test_search_modes(collection: tuple[Any, Path], mode: str, query: str, name: str) -> None:
    client, store = collection
    handlers = SearchHandlers(client.app.state.console.bridge, ConsoleStore(path=str(store), collections=("notes",)))
    table, summary = await handlers.search(query, "notes", 1, 10, "off", mode)
    assert table.iloc[0]["source"].endswith(name) and f"found by {mode}, store order only" in summary


async def test_search_reranks_the_hits_in_process(collection: tuple[Any, Path]) -> None:
    client, store = collection
    bridge = client.app.state.console.bridge
    relayed = bridge.relayed_calls
    handlers = SearchHandlers(bridge, ConsoleStore(path=str(store), collections=("notes",)))
    table, summary = await handlers.search("man riding a horse", "notes", 3, 10, "bi-encoder")
    assert table.iloc[0]["source"].endswith("horses.md")
    assert "reranked with the bi-encoder" in summary
    assert table["score"].tolist() == sorted(table["score"].tolist(), reverse=True)
    assert bridge.relayed_calls >= relayed + 2  # embed + rerank, from the Qdrant worker thread


async def test_missing_collection_says_to_ingest(collection: tuple[Any, Path]) -> None:
    client, store = collection
    handlers = SearchHandlers(client.app.state.console.bridge, ConsoleStore(path=str(store), collections=("*",)))
    with pytest.raises(gr.Error, match="does not exist"):
        await handlers.search("anything", "nope", 5, 50, "auto")


async def test_missing_store_is_not_created(minilm: Any, tmp_path: Path) -> None:
    handlers = SearchHandlers(minilm.app.state.console.bridge, ConsoleStore(path=str(tmp_path / "empty")))
    with pytest.raises(gr.Error, match="embedrank ingest"):
        await handlers.search("anything", "embedrank", 5, 50, "auto")
    assert not (tmp_path / "empty").exists()
