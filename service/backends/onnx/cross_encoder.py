"""ONNX Runtime reranker backend: a BERT-style cross-encoder's exported graph answering raw logits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ScorerInfo
from service.backends.onnx.common import (
    check_device,
    exported_model,
    import_onnxruntime,
    model_file,
    model_type_of,
    new_session,
    token_limit,
)
from service.backends.onnx.export import CROSS_ENCODER_TYPES, export_cross_encoder
from service.config import Settings
from service.tokens.padding import pad_batch
from service.tokens.pairs import PairIds, segment_ids

logger = logging.getLogger(__name__)


class OnnxCrossEncoder:
    """One forward pass over `[CLS] query [SEP] passage [SEP]`; pairs are tokenised by `PairIds`, as for torch."""

    def __init__(self, name_or_path: str, settings: Settings) -> None:
        from transformers import AutoTokenizer

        import_onnxruntime()
        check_device(settings)
        model_type_of(name_or_path, CROSS_ENCODER_TYPES, "cross-encoders")
        self.model = exported_model(
            name_or_path, "cross-encoder", settings, lambda folder: export_cross_encoder(name_or_path, settings, folder)
        )
        meta = self.model.meta
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model.path))
        max_tokens = token_limit(meta, settings)
        self.pairs = PairIds(self.tokenizer, max_tokens=max_tokens)
        path, dtype = model_file(self.model, settings, self._calibration_feeds)
        self.session = new_session(path, settings)
        self.info = ScorerInfo(
            name=name_or_path, max_tokens=max_tokens, backend="onnx", device="cpu", kind="cross-encoder"
        )
        logger.info("ONNX cross-encoder %s (%s): max_tokens=%d", name_or_path, dtype, max_tokens)

    @property
    def exported(self) -> bool:
        return self.model.exported

    def _feeds(self, batch: Batch) -> dict[str, NDArray[Any]]:
        feeds: dict[str, NDArray[Any]] = {"input_ids": batch.ids, "attention_mask": batch.mask.astype(np.int64)}
        if self.pairs.uses_segments:
            feeds["token_type_ids"] = segment_ids(batch.ids, batch.mask, self.pairs.sep_id)
        return feeds

    def _calibration_feeds(self, texts: Sequence[str]) -> dict[str, NDArray[Any]]:
        rows = [self.pairs.tokenize(text, [text])[0] for text in texts]
        return self._feeds(pad_batch(rows, self.pairs.pad_id, self.pairs.padding_side))

    def score(self, batch: Batch) -> NDArray[np.float32]:
        (logits,) = self.session.run(None, self._feeds(batch))
        scores: NDArray[np.float32] = np.asarray(logits, dtype=np.float32).reshape(-1)
        return scores


def load_scorer(settings: Settings) -> OnnxCrossEncoder:
    """Registry factory for CROSS_ENCODER_MODEL."""
    assert settings.cross_encoder_model, "load_scorer needs CROSS_ENCODER_MODEL"
    return OnnxCrossEncoder(settings.cross_encoder_model, settings)
