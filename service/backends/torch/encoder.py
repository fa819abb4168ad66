"""Torch embedding backend on sentence-transformers: tokenise, pad, forward, pool (no normalisation)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ModelInfo
from service.backends.torch.common import (
    default_model_path,
    has_sentence_transformers_config,
    model_type_of,
    resolve_device,
    resolve_dtype,
    set_threads,
)
from service.backends.torch.imports import import_sentence_transformers
from service.config import Settings
from service.families import Family, family_for
from service.tokens.text import TextIds

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

logger = logging.getLogger(__name__)

# Tokenizers of some models report a "no limit" sentinel (~1e30) as their maximum length.
_NO_LIMIT = 1_000_000


class TorchEncoder:
    """A sentence-transformers model run module by module, stopping before any Normalize layer.

    Normalisation and Matryoshka cuts live in the engine, so `normalize: false` can return the
    model's real pooled vector.
    """

    def __init__(self, name_or_path: str, settings: Settings, display_name: str | None = None) -> None:
        import torch

        import_sentence_transformers()  # first: without its scikit-learn import (~130 MB)
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Normalize

        set_threads(settings.num_threads)
        self._torch = torch
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.torch_dtype, device)
        family = family_for(model_type_of(name_or_path))
        model_kwargs: dict[str, Any] = {"dtype": dtype}
        if family.pooling and not has_sentence_transformers_config(name_or_path):
            # A bare Hugging Face decoder folder: sentence-transformers would default to mean
            # pooling, which is wrong for last-token embedders such as Qwen3-Embedding.
            model = self._assemble(name_or_path, family, device, model_kwargs)
        else:
            model = SentenceTransformer(name_or_path, device=device, model_kwargs=model_kwargs)
        model.eval()
        self._modules = [module for module in model if not isinstance(module, Normalize)]
        self._device = device
        self.tokenizer = model.tokenizer
        if family.padding_side:
            self.tokenizer.padding_side = family.padding_side
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        max_tokens = self._max_tokens(model, settings.max_seq_length)
        side = self.tokenizer.padding_side
        self.text = TextIds(self.tokenizer, append_eos=family.append_eos, max_tokens=max_tokens, padding_side=side)
        dim = model.get_embedding_dimension()
        if dim is None:
            raise RuntimeError(f"{name_or_path!r} does not declare its embedding dimension")
        self.info = ModelInfo(
            name=display_name or name_or_path,
            dim=int(dim),
            max_tokens=max_tokens,
            backend="torch",
            device=device,
            family=family,
            prompts={k: v for k, v in (model.prompts or {}).items() if v},
            dtype=str(dtype).removeprefix("torch."),
            vocab_size=self._vocab_size(model),
        )
        logger.info(
            "loaded %s on %s (%s): family=%s dim=%d max_tokens=%d append_eos=%s",
            name_or_path, device, self.info.dtype, family.name, dim, max_tokens, self.text.append_eos,
        )  # fmt: skip

    @staticmethod
    def _assemble(name_or_path: str, family: Family, device: str, model_kwargs: dict[str, Any]) -> Any:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

        transformer = Transformer(name_or_path, model_kwargs=model_kwargs)
        pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode=family.pooling)
        return SentenceTransformer(modules=[transformer, pooling], device=device)

    def _max_tokens(self, model: Any, override: int | None) -> int:
        candidates = [model.get_max_seq_length(), getattr(self.tokenizer, "model_max_length", None)]
        config = getattr(model[0], "config", None) or getattr(model[0].model, "config", None)
        candidates.append(getattr(config, "max_position_embeddings", None))
        limit = min(int(c) for c in candidates if c and 0 < int(c) < _NO_LIMIT)
        return min(limit, override) if override else limit

    def _vocab_size(self, model: Any) -> int:
        # Ids the tokenizer can produce AND the embedding matrix has a row for.
        config = getattr(model[0], "config", None) or getattr(model[0].model, "config", None)
        rows = getattr(config, "vocab_size", None)
        return min(len(self.tokenizer), int(rows)) if rows else len(self.tokenizer)

    def cast(self, dtype: str) -> None:
        """Convert the weights in place (DTYPE=auto's calibration tries bfloat16 on the loaded model)."""
        for module in self._modules:
            module.to(getattr(self._torch, dtype))
        self.info = replace(self.info, dtype=dtype)

    def encode(self, batch: Batch) -> NDArray[np.float32]:
        torch = self._torch
        features: dict[str, Any] = {
            "input_ids": torch.from_numpy(batch.ids).to(self._device),
            "attention_mask": torch.from_numpy(batch.mask.astype(np.int64)).to(self._device),
        }
        with torch.inference_mode():
            for module in self._modules:
                features = module(features)
        vectors: NDArray[np.float32] = features["sentence_embedding"].float().cpu().numpy()
        return vectors


def load_encoder(settings: Settings) -> TorchEncoder:
    """Registry factory: the configured model, or the embedded MiniLM when MODEL_NAME is unset."""
    if settings.model_name:
        return TorchEncoder(settings.model_name, settings)
    return TorchEncoder(default_model_path(), settings, display_name=DEFAULT_MODEL_NAME)
