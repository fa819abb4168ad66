"""The console's layout: Embed, Rerank, Search and Status tabs wired to their handlers (a gr.Blocks)."""

from __future__ import annotations

import gradio as gr

from ui.handlers import EMBED_COLUMNS, RANK_COLUMNS, ConsoleHandlers
from ui.search import (
    MODE_CHOICES,
    RERANK_CHOICES,
    SEARCH_COLUMNS,
    SearchHandlers,
    qdrant_available,
)

EXAMPLE_TEXTS = """A man is eating food.
A man is eating a piece of bread.
The girl is carrying a baby.
A man is riding a horse.
Qdrant is a vector database written in Rust."""

EXAMPLE_QUERY = "How do I store embeddings for search?"
EXAMPLE_PASSAGES = """Qdrant is a vector database: it stores embeddings and finds the nearest ones.
n8n workflows can call any HTTP API, including this server.
The girl is carrying a baby.
Cosine similarity compares two embedding vectors.
LM Studio runs local language models on a laptop."""

# Many console users at once are fine: the Engine batches across callers and answers 429 when full.
# (Set per event: `Blocks.queue()` would build Gradio's whole route table once more, ~0.5 s per app.)
CONCURRENCY = 16


def build_console(handlers: ConsoleHandlers, search: SearchHandlers) -> gr.Blocks:
    """The Blocks, not launched: `ui.mount_console` mounts them on the FastAPI app."""
    with gr.Blocks(title="embedrank console", analytics_enabled=False) as console:
        gr.Markdown("## embedrank console\nThe same Engine that serves the API, called in-process.")
        with gr.Tabs():
            with gr.Tab("Embed", id="embed"):
                _embed_tab(handlers)
            with gr.Tab("Rerank", id="rerank"):
                method = _rerank_tab(handlers)
            with gr.Tab("Search", id="search"):
                _search_tab(search)
            with gr.Tab("Status", id="status"):
                status = gr.Markdown("loading…", elem_id="status-md")
                gr.Button("Refresh", elem_id="status-refresh").click(
                    handlers.status,
                    outputs=status,
                    api_name="status",
                    show_progress="hidden",
                    concurrency_limit=CONCURRENCY,
                )
        console.load(handlers.rerank_methods, outputs=method, api_visibility="private")
        console.load(handlers.status, outputs=status, api_visibility="private")
    blocks: gr.Blocks = console
    return blocks


def _embed_tab(handlers: ConsoleHandlers) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            texts = gr.Textbox(EXAMPLE_TEXTS, lines=6, label="texts (one per line)", elem_id="embed-texts")
        with gr.Column(scale=1):
            input_type = gr.Radio(["document", "query"], value="document", label="embed as", elem_id="embed-type")
            dimensions = gr.Number(
                0, precision=0, minimum=0, label="dimensions", info="0 = native; fewer = Matryoshka cut",
                elem_id="embed-dims",
            )  # fmt: skip
            run = gr.Button("Embed", variant="primary", elem_id="embed-run")
    latency = gr.Markdown(elem_id="embed-latency")
    table = gr.Dataframe(headers=EMBED_COLUMNS, label="vectors", interactive=False, elem_id="embed-table")
    heatmap = gr.HTML(label="cosine similarity", elem_id="embed-heatmap")
    run.click(
        handlers.embed,
        [texts, input_type, dimensions],
        [table, heatmap, latency],
        api_name="embed",
        concurrency_limit=CONCURRENCY,
    )


def _rerank_tab(handlers: ConsoleHandlers) -> gr.Radio:
    with gr.Row():
        with gr.Column(scale=3):
            query = gr.Textbox(EXAMPLE_QUERY, label="query", elem_id="rerank-query")
            passages = gr.Textbox(EXAMPLE_PASSAGES, lines=7, label="passages (one per line)", elem_id="rerank-passages")
        with gr.Column(scale=1):
            method = gr.Radio(["bi-encoder"], value="bi-encoder", label="method", elem_id="rerank-method")
            top_k = gr.Number(0, precision=0, minimum=0, label="top_k", info="0 = all", elem_id="rerank-top-k")
            run = gr.Button("Rerank", variant="primary", elem_id="rerank-run")
    latency = gr.Markdown(elem_id="rerank-latency")
    with gr.Row():
        with gr.Column():
            left_title = gr.Markdown(elem_id="rerank-left-title")
            left_table = gr.Dataframe(headers=RANK_COLUMNS, label="ranking", interactive=False, elem_id="rerank-left")
            left_chart = _score_chart("rerank-left-chart")
        with gr.Column(visible=False) as right:
            right_title = gr.Markdown(elem_id="rerank-right-title")
            right_table = gr.Dataframe(headers=RANK_COLUMNS, label="ranking", interactive=False, elem_id="rerank-right")
            right_chart = _score_chart("rerank-right-chart")
    run.click(
        handlers.rerank,
        [query, passages, top_k, method],
        [left_title, left_table, left_chart, right, right_title, right_table, right_chart, latency],
        api_name="rerank",
        concurrency_limit=CONCURRENCY,
    )
    return method


def _score_chart(elem_id: str) -> gr.BarPlot:
    return gr.BarPlot(
        x="passage", y="score", sort="-y", x_title="", y_title="score", x_label_angle=-25, height=280,
        label="scores", elem_id=elem_id,
    )  # fmt: skip


def _search_tab(search: SearchHandlers) -> None:
    if not qdrant_available():
        gr.Markdown(
            "Search needs the qdrant extra: `pip install 'embedrank[qdrant]'` (the `ui` extra brings it), "
            "then restart the server and run `embedrank ingest`."
        )
    else:
        gr.Markdown("Searches a collection written by `embedrank ingest` (same model as this server).")
    with gr.Row():
        with gr.Column(scale=3):
            query = gr.Textbox(label="query", elem_id="search-query")
            store = search.store
            collection = gr.Dropdown(
                [name for name in store.collections if name != "*"] or [store.default_collection],
                value=store.default_collection, label="collection",
                allow_custom_value="*" in store.collections, elem_id="search-collection",
                info=f"in {store.describe()} (the server's QDRANT_URL / QDRANT_PATH)",
            )  # fmt: skip
        with gr.Column(scale=1):
            top_k = gr.Number(5, precision=0, minimum=1, label="top_k", elem_id="search-top-k")
            candidates = gr.Number(50, precision=0, minimum=1, label="candidates", elem_id="search-candidates")
            rerank = gr.Radio(
                list(RERANK_CHOICES), value="auto", label="rerank", elem_id="search-rerank",
                info="auto: the cross-encoder when loaded, else Qdrant's cosine order",
            )  # fmt: skip
            mode = gr.Radio(
                MODE_CHOICES, value="hybrid", label="mode", elem_id="search-mode",
                info="hybrid: meaning + exact words (BM25), fused",
            )  # fmt: skip
            run = gr.Button("Search", variant="primary", interactive=qdrant_available(), elem_id="search-run")
    summary = gr.Markdown(elem_id="search-summary")
    hits = gr.Dataframe(headers=SEARCH_COLUMNS, label="hits", interactive=False, wrap=True, elem_id="search-hits")
    inputs = [query, collection, top_k, candidates, rerank, mode]
    run.click(search.search, inputs, [hits, summary], api_name="search", concurrency_limit=CONCURRENCY)
