"""embedrank: a local-first embedding and reranking service (one model, many API dialects)."""

__version__ = "0.1.0"
