"""MLX embedding backend: a real mlx-lm forward pass through a decoder embedder, pooled at the last token."""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ModelInfo
from service.backends.mlx.common import MlxModel, device_name, load_mlx_model, model_dir
from service.backends.model_config import read_config
from service.config import Settings
from service.families import family_for
from service.tokens.padding import last_real_index
from service.tokens.text import TextIds, max_tokens_of

logger = logging.getLogger(__name__)


class MlxEncoder:
    """Qwen3-Embedding (and other last-token decoder embedders) on MLX.

    The transformer body runs without the LM head, with a causal mask combined with the padding
    mask; the vector is the final-norm hidden state of each row's last real token (EOS). Prompts,
    normalisation and Matryoshka cuts are the engine's, exactly as for torch.
    """

    def __init__(self, name_or_path: str, settings: Settings, display_name: str | None = None) -> None:
        from transformers import AutoTokenizer

        model_type = (read_config(str(model_dir(name_or_path))) or {}).get("model_type")
        family = family_for(model_type)
        if family.pooling != "lasttoken":
            raise RuntimeError(
                f"{name_or_path!r} is a {model_type!r} model; the MLX backend runs decoder embedders "
                "(last-token pooling, e.g. Qwen3-Embedding). Use BACKEND=torch for it."
            )
        self.mlx: MlxModel = load_mlx_model(name_or_path, keep_head=False)
        config = self.mlx.config
        tokenizer = AutoTokenizer.from_pretrained(self.mlx.path)
        self.tokenizer = tokenizer
        max_tokens = max_tokens_of(
            [config.get("max_position_embeddings"), getattr(tokenizer, "model_max_length", None)],
            settings.max_seq_length,
        )
        padding_side = family.padding_side or "left"
        self.text = TextIds(tokenizer, append_eos=family.append_eos, max_tokens=max_tokens, padding_side=padding_side)
        vocab = config.get("vocab_size")
        self.info = ModelInfo(
            name=display_name or name_or_path,
            dim=int(config["hidden_size"]),
            max_tokens=max_tokens,
            backend="mlx",
            device=device_name(self.mlx.mx),
            family=family,
            dtype=self.mlx.dtype,
            vocab_size=min(len(tokenizer), int(vocab)) if vocab else len(tokenizer),
        )
        logger.info(
            "MLX encoder %s: family=%s dim=%d max_tokens=%d append_eos=%s",
            self.info.name, family.name, self.info.dim, max_tokens, self.text.append_eos,
        )  # fmt: skip

    def encode(self, batch: Batch) -> NDArray[np.float32]:
        mx = self.mlx.mx
        ids, real = batch.ids.astype(np.int32), batch.mask
        last = last_real_index(real)

        def pooled() -> object:
            hidden = self.mlx.hidden_states(ids, real)
            return hidden[mx.arange(len(batch)), mx.array(last)].astype(mx.float32)

        vectors: NDArray[np.float32] = np.array(self.mlx.run(pooled), dtype=np.float32)
        return vectors


def load_encoder(settings: Settings) -> MlxEncoder:
    """Registry factory: MLX_MODEL_PATH (MLX-format or Hugging Face weights), else MODEL_NAME."""
    source = settings.mlx_model_path or settings.model_name
    if not source:
        raise RuntimeError(
            "BACKEND=mlx needs MLX_MODEL_PATH or MODEL_NAME: a decoder embedder such as "
            "Qwen/Qwen3-Embedding-0.6B (the embedded MiniLM is a BERT model, which MLX does not run)"
        )
    return MlxEncoder(source, settings)
