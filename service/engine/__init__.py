"""The Engine facade and what it is built from: batcher, cache, prompts, post-processing."""

from service.engine.engine import Engine
from service.engine.results import EmbedResult, RerankResult, Timings

__all__ = ["EmbedResult", "Engine", "RerankResult", "Timings"]
