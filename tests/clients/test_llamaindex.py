"""LlamaIndex embedders and rerankers (OpenAI, Cohere, TEI, HF Inference API packages) against the real server."""

from __future__ import annotations

import pytest

from tests.clients.conftest import outcomes
from tests.clients.harness import Native, Server, check

pytestmark = pytest.mark.slow

CALLS = [
    "OpenAIEmbedding api_base: get_query_embedding",
    "OpenAIEmbedding api_base: get_text_embedding_batch",
    "CohereRerank base_url: postprocess_nodes",
    "TextEmbeddingsInference base_url: get_query_embedding",
    "TextEmbeddingsInference base_url: get_text_embedding_batch",
    "TEI rerank (TextEmbeddingInference) base_url: postprocess_nodes",
    "HuggingFaceInferenceAPIEmbedding model_name=root URL: get_query_embedding",
    "HuggingFaceInferenceAPIEmbedding model_name=root URL: get_text_embedding_batch",
]


def test_every_call_is_checked(server: Server) -> None:
    assert sorted(outcomes("llamaindex", server)) == sorted(CALLS)


@pytest.mark.parametrize("call", CALLS)
def test_call_equals_native(call: str, server: Server, expected: Native) -> None:
    check(outcomes("llamaindex", server)[call], expected)
