"""LlamaIndex's embedders and rerankers configured as README's table says (run in the llamaindex venv)."""

from __future__ import annotations

from typing import Any

from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.embeddings.huggingface_api import HuggingFaceInferenceAPIEmbedding
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.embeddings.text_embeddings_inference import TextEmbeddingsInference
from llama_index.postprocessor.cohere_rerank import CohereRerank
from llama_index.postprocessor.tei_rerank import TextEmbeddingInference as TEIRerank
from protocol import plain, run

Embedder = OpenAIEmbedding | TextEmbeddingsInference | HuggingFaceInferenceAPIEmbedding


def openai(case: dict[str, Any]) -> OpenAIEmbedding:
    # model_name: any served name (the `model` argument only accepts OpenAI's own names).
    return OpenAIEmbedding(
        api_base=f"{case['base']}/v1", api_key=case["key"] or "x", model_name=case["model"], max_retries=0
    )


def tei(case: dict[str, Any]) -> TextEmbeddingsInference:
    return TextEmbeddingsInference(base_url=case["base"], model_name=case["model"], auth_token=case["key"])


def hf_api(case: dict[str, Any]) -> HuggingFaceInferenceAPIEmbedding:
    return HuggingFaceInferenceAPIEmbedding(model_name=case["base"], token=case["key"], timeout=60)


def nodes(case: dict[str, Any]) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text=text, id_=str(i))) for i, text in enumerate(case["documents"])]


def ranked(found: list[NodeWithScore]) -> dict[str, Any]:
    return {"ranking": [[int(n.node.id_), n.score] for n in found]}


def cohere_rerank(case: dict[str, Any]) -> dict[str, Any]:
    reranker = CohereRerank(
        base_url=case["base"], api_key=case["key"] or "x", model="rerank-v3.5", top_n=len(case["documents"])
    )
    return ranked(reranker.postprocess_nodes(nodes(case), query_str=case["query"]))


def tei_rerank(case: dict[str, Any]) -> dict[str, Any]:
    reranker = TEIRerank(base_url=case["base"], auth_token=case["key"], top_n=len(case["documents"]))
    return ranked(reranker.postprocess_nodes(nodes(case), query_str=case["query"]))


def query(make: Any) -> Any:
    return lambda c: {"query": plain(make(c).get_query_embedding(c["query"]))}


def documents(make: Any) -> Any:
    return lambda c: {"documents": plain(make(c).get_text_embedding_batch(c["documents"]))}


CALLS = {
    "OpenAIEmbedding api_base: get_query_embedding": query(openai),
    "OpenAIEmbedding api_base: get_text_embedding_batch": documents(openai),
    "CohereRerank base_url: postprocess_nodes": cohere_rerank,
    "TextEmbeddingsInference base_url: get_query_embedding": query(tei),
    "TextEmbeddingsInference base_url: get_text_embedding_batch": documents(tei),
    "TEI rerank (TextEmbeddingInference) base_url: postprocess_nodes": tei_rerank,
    "HuggingFaceInferenceAPIEmbedding model_name=root URL: get_query_embedding": query(hf_api),
    "HuggingFaceInferenceAPIEmbedding model_name=root URL: get_text_embedding_batch": documents(hf_api),
}

if __name__ == "__main__":
    run(CALLS)
