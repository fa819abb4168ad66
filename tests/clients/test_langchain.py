"""LangChain (langchain-openai, langchain-cohere, langchain-huggingface) against the real server, in its own venv."""

from __future__ import annotations

import pytest

from tests.clients.conftest import outcomes
from tests.clients.harness import Native, Server, check

pytestmark = pytest.mark.slow

CALLS = [
    "OpenAIEmbeddings default (tiktoken ids): embed_query",
    "OpenAIEmbeddings default (tiktoken ids): embed_documents",
    "OpenAIEmbeddings check_embedding_ctx_length=False: embed_query",
    "OpenAIEmbeddings check_embedding_ctx_length=False: embed_documents",
    "CohereEmbeddings base_url: embed_query",
    "CohereEmbeddings base_url: embed_documents",
    "CohereRerank base_url: rerank",
]
HF_ENDPOINT = "HuggingFaceEndpointEmbeddings model=URL: embed_documents"


def test_every_call_is_checked(server: Server) -> None:
    assert sorted(outcomes("langchain", server)) == sorted([*CALLS, HF_ENDPOINT])


@pytest.mark.parametrize("call", CALLS)
def test_call_equals_native(call: str, server: Server, expected: Native) -> None:
    check(outcomes("langchain", server)[call], expected)


def test_hf_endpoint_embeddings_refuses_urls(server: Server) -> None:
    # What README says: langchain-huggingface's HuggingFaceEndpointEmbeddings takes Hub repo ids only.
    outcome = outcomes("langchain", server)[HF_ENDPOINT]
    assert "must be a HuggingFace repo ID, not a URL" in outcome.get("error", ""), outcome
