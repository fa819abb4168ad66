"""One real Open WebUI 0.12.4 for every test here, wired to a real embedrank and a recording chat endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chat_standin import serve_recorder
from real_open_webui import EMBEDRANK_KEY, OpenWebUI, Stack, serve_open_webui

from tests.live_server import free_port, live_server
from tests.real_apps import app_binary
from tests.tiny_models import build_bert_cross_encoder


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = app_binary("EMBEDRANK_OPEN_WEBUI_BIN", "Open WebUI 0.12.4", "bash .ci/install_open_webui.sh")
    cross_encoder = build_bert_cross_encoder(tmp_path_factory.mktemp("owui-ce"))
    ours = {"UI_ENABLED": "false", "API_KEY": EMBEDRANK_KEY, "CROSS_ENCODER_MODEL": str(cross_encoder)}
    with live_server(ours) as embedrank, serve_recorder(free_port()) as (chat_url, received):
        env = {
            # Open WebUI's RAG as README "Open WebUI" ways 1 and 2 set it, against our server.
            "RAG_EMBEDDING_ENGINE": "openai",
            "RAG_OPENAI_API_BASE_URL": f"{embedrank}/v1",
            "RAG_OPENAI_API_KEY": EMBEDRANK_KEY,
            "RAG_EMBEDDING_MODEL": "embedrank",
            "RAG_RERANKING_ENGINE": "external",
            "RAG_EXTERNAL_RERANKER_URL": f"{embedrank}/v1/rerank",
            "RAG_EXTERNAL_RERANKER_API_KEY": EMBEDRANK_KEY,
            "RAG_RERANKING_MODEL": "embedrank",
            "ENABLE_RAG_HYBRID_SEARCH": "true",
            # One paragraph per chunk, so one file gives several candidates to rank.
            "CHUNK_SIZE": "70",
            "CHUNK_OVERLAP": "0",
            # The language model: an OpenAI-compatible endpoint that records what it is sent.
            "ENABLE_OPENAI_API": "true",
            "OPENAI_API_BASE_URL": chat_url,
            "OPENAI_API_KEY": "unused",
        }
        data_dir = tmp_path_factory.mktemp("owui-data")
        with serve_open_webui(binary, free_port(), data_dir, env) as url:
            yield Stack(embedrank, OpenWebUI(url), received)
