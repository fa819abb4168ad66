"""Torch reranker backend: a sentence-transformers CrossEncoder returning raw relevance logits."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ScorerInfo
from service.backends.torch.common import resolve_device, resolve_dtype, set_threads
from service.backends.torch.imports import import_sentence_transformers
from service.config import Settings
from service.tokens.pairs import PairIds, segment_ids

logger = logging.getLogger(__name__)


class TorchCrossEncoder:
    """BERT-style cross-encoder: one forward pass over `[CLS] query [SEP] passage [SEP]`."""

    def __init__(self, name_or_path: str, settings: Settings) -> None:
        import torch

        import_sentence_transformers()  # first: without its scikit-learn import (~130 MB)
        from sentence_transformers import CrossEncoder

        set_threads(settings.num_threads)  # NUM_THREADS means the same for every backend
        self._torch = torch
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.torch_dtype, device)
        model = CrossEncoder(name_or_path, device=device, model_kwargs={"dtype": dtype})
        model.eval()
        if model.num_labels not in (1, 2):
            raise RuntimeError(
                f"{name_or_path!r} has {model.num_labels} output labels; a reranker needs 1 (or 2: no/yes)"
            )
        self._model = model
        self._two_labels = model.num_labels == 2
        self._device = device
        self.tokenizer = model.tokenizer
        max_tokens = int(model.get_max_seq_length() or 512)
        if settings.max_seq_length:
            max_tokens = min(max_tokens, settings.max_seq_length)
        self.pairs = PairIds(self.tokenizer, max_tokens=max_tokens)
        self.info = ScorerInfo(
            name=name_or_path,
            max_tokens=max_tokens,
            backend="torch",
            device=device,
            kind="cross-encoder",
            dtype=str(dtype).removeprefix("torch."),
        )
        logger.info("loaded cross-encoder %s on %s (max_tokens=%d)", name_or_path, device, max_tokens)

    def cast(self, dtype: str) -> None:
        """Convert the weights in place (DTYPE=auto's calibration tries bfloat16 on the loaded model)."""
        self._model.to(getattr(self._torch, dtype))
        self.info = replace(self.info, dtype=dtype)

    def score(self, batch: Batch) -> NDArray[np.float32]:
        torch = self._torch
        features: dict[str, Any] = {
            "input_ids": torch.from_numpy(batch.ids).to(self._device),
            "attention_mask": torch.from_numpy(batch.mask.astype(np.int64)).to(self._device),
        }
        if self.pairs.uses_segments:
            segments = segment_ids(batch.ids, batch.mask, self.pairs.sep_id)
            features["token_type_ids"] = torch.from_numpy(segments).to(self._device)
        with torch.inference_mode():
            for module in self._model:
                features = module(features)
        logits = features["scores"].float()
        if self._two_labels:
            logits = logits[:, 1] - logits[:, 0]  # log-odds of "relevant": sigmoid gives softmax p
        scores: NDArray[np.float32] = logits.reshape(-1).cpu().numpy()
        return scores


def load_scorer(settings: Settings) -> TorchCrossEncoder:
    """Registry factory for CROSS_ENCODER_MODEL."""
    assert settings.cross_encoder_model, "load_scorer needs CROSS_ENCODER_MODEL"
    return TorchCrossEncoder(settings.cross_encoder_model, settings)
