"""LangChain's embedders and reranker configured as README's table says (run in the langchain venv)."""

from __future__ import annotations

from typing import Any

from langchain_cohere import CohereEmbeddings, CohereRerank
from langchain_openai import OpenAIEmbeddings
from protocol import plain, run


def openai(case: dict[str, Any], **options: Any) -> OpenAIEmbeddings:
    # Any key when the server has none: the client insists on one. No retries: a failure shows at once.
    return OpenAIEmbeddings(
        base_url=f"{case['base']}/v1", api_key=case["key"] or "x", model=case["model"], max_retries=0, **options
    )


def cohere_embedder(case: dict[str, Any]) -> CohereEmbeddings:
    return CohereEmbeddings(
        base_url=case["base"], cohere_api_key=case["key"] or "x", model="embed-english-v3.0", max_retries=0
    )


def cohere_rerank(case: dict[str, Any]) -> dict[str, Any]:
    reranker = CohereRerank(
        base_url=case["base"], cohere_api_key=case["key"] or "x", model="rerank-v3.5", top_n=len(case["documents"])
    )
    results = reranker.rerank(case["documents"], case["query"])
    return {"ranking": [[r["index"], r["relevance_score"]] for r in results]}


def hf_endpoint_url(case: dict[str, Any]) -> dict[str, Any]:
    from langchain_huggingface import HuggingFaceEndpointEmbeddings

    embedder = HuggingFaceEndpointEmbeddings(model=case["base"], huggingfacehub_api_token=case["key"])
    return {"documents": plain(embedder.embed_documents(case["documents"]))}


CALLS = {
    "OpenAIEmbeddings default (tiktoken ids): embed_query": lambda c: {"query": openai(c).embed_query(c["query"])},
    "OpenAIEmbeddings default (tiktoken ids): embed_documents": lambda c: {
        "documents": openai(c).embed_documents(c["documents"])
    },
    "OpenAIEmbeddings check_embedding_ctx_length=False: embed_query": lambda c: {
        "query": openai(c, check_embedding_ctx_length=False).embed_query(c["query"])
    },
    "OpenAIEmbeddings check_embedding_ctx_length=False: embed_documents": lambda c: {
        "documents": openai(c, check_embedding_ctx_length=False).embed_documents(c["documents"])
    },
    "CohereEmbeddings base_url: embed_query": lambda c: {"query": cohere_embedder(c).embed_query(c["query"])},
    "CohereEmbeddings base_url: embed_documents": lambda c: {
        "documents": cohere_embedder(c).embed_documents(c["documents"])
    },
    "CohereRerank base_url: rerank": cohere_rerank,
    "HuggingFaceEndpointEmbeddings model=URL: embed_documents": hf_endpoint_url,
}

if __name__ == "__main__":
    run(CALLS)
