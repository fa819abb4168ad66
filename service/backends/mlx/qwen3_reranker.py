"""MLX backend for causal-LM rerankers (Qwen3-Reranker): the same prompt as torch, scored by mlx-lm."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ScorerInfo
from service.backends.mlx.common import MlxModel, body_of, device_name, load_mlx_model
from service.backends.model_config import reranker_family_of
from service.config import Settings
from service.families import RerankerFamily
from service.tokens.rerank_prompt import RerankPrompt, reranker_max_tokens

logger = logging.getLogger(__name__)


class MlxQwen3Reranker:
    """A Qwen3ForCausalLM reranker (Hugging Face or MLX-format, quantised or not) on MLX."""

    def __init__(self, name_or_path: str, family: RerankerFamily, settings: Settings) -> None:
        from transformers import AutoTokenizer

        self.mlx: MlxModel = load_mlx_model(name_or_path, keep_head=True)
        max_tokens = reranker_max_tokens(family, self.mlx.config, settings.max_seq_length)
        tokenizer = AutoTokenizer.from_pretrained(self.mlx.path)
        self.pairs = RerankPrompt(tokenizer, family, max_tokens=max_tokens, default_task=settings.default_instruction)
        self.info = ScorerInfo(
            name=name_or_path, max_tokens=max_tokens, backend="mlx", device=device_name(self.mlx.mx), kind=family.name
        )
        logger.info("MLX %s %s (%s, max_tokens=%d)", family.name, name_or_path, self.mlx.dtype, max_tokens)

    def _head(self, hidden: Any) -> Any:
        """LM-head logits of the given hidden states (tied models reuse the embedding matrix)."""
        model = self.mlx.model
        if "lm_head" in model:
            return model.lm_head(hidden)
        return body_of(model).embed_tokens.as_linear(hidden)

    def score(self, batch: Batch) -> NDArray[np.float32]:
        mx = self.mlx.mx
        ids, real = batch.ids.astype(np.int32), batch.mask
        yes, no = self.pairs.yes_id, self.pairs.no_id

        def logit_diff() -> Any:
            last = self.mlx.hidden_states(ids, real)[:, -1, :]  # left padding: the answer position
            logits = self._head(last).astype(mx.float32)
            return logits[:, yes] - logits[:, no]

        scores: NDArray[np.float32] = np.array(self.mlx.run(logit_diff), dtype=np.float32)
        return scores


def load_scorer(settings: Settings) -> MlxQwen3Reranker:
    """Registry factory for a CROSS_ENCODER_MODEL that is a causal-LM reranker."""
    assert settings.cross_encoder_model, "load_scorer needs CROSS_ENCODER_MODEL"
    family = reranker_family_of(settings.cross_encoder_model)
    if family is None:
        raise RuntimeError(f"{settings.cross_encoder_model!r} is not a causal-LM reranker")
    return MlxQwen3Reranker(settings.cross_encoder_model, family, settings)
