"""The one BM25 configuration: sparse vectors computed client-side, so Edge and a Qdrant server store the same ones."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Name of the sparse vector next to the (unnamed) dense one; the collection gives it Modifier.IDF,
# so documents carry term-frequency weights only and the engine applies IDF from its own statistics.
SPARSE_NAME = "bm25"
# Qdrant's own BM25 defaults (k=1.2, b=0.75, avg_len=256 tokens, English stopwords + stemmer): written
# out so the stored vectors never change under us if a library default moves. A chunk of 200 MiniLM
# tokens is ~150 words, so avg_len=256 only softens length normalisation a little.
BM25_PARAMS: dict[str, Any] = {"k": 1.2, "b": 0.75, "avg_len": 256.0, "language": "english"}
# Stored next to every chunk (`metadata.sparse`) so a change of the BM25 settings re-indexes unchanged files.
FINGERPRINT = "bm25:v1:k1.2:b0.75:avg256:english"

Sparse = tuple[list[int], list[float]]


@lru_cache(maxsize=1)
def _model() -> Any:
    try:
        import qdrant_edge
    except ImportError as exc:  # the qdrant extra brings it
        raise RuntimeError("BM25 needs qdrant-edge-py: pip install 'embedrank[qdrant]'") from exc
    return qdrant_edge.Bm25(qdrant_edge.Bm25Config(**BM25_PARAMS))


def embed_document(text: str) -> Sparse:
    """Term-frequency weights (BM25's k/b/avg_len) of the text's hashed tokens."""
    vector = _model().embed_document(text)
    return list(vector.indices), list(vector.values)


def embed_documents(texts: list[str]) -> list[Sparse]:
    return [embed_document(text) for text in texts]


def embed_query(text: str) -> Sparse:
    """Each distinct query token with weight 1; IDF comes from the collection."""
    vector = _model().embed_query(text)
    return list(vector.indices), list(vector.values)
