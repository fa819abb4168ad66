"""ONNX Runtime embedding backend: the torch encoder's exported graph, fed by the shared tokenisation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ModelInfo
from service.backends.onnx.common import (
    check_device,
    exported_model,
    import_onnxruntime,
    model_file,
    model_type_of,
    new_session,
    token_limit,
)
from service.backends.onnx.export import OPTIMIZER_TYPE, export_encoder
from service.config import Settings
from service.families import family_for
from service.tokens.padding import pad_batch
from service.tokens.text import TextIds

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

logger = logging.getLogger(__name__)


class OnnxEncoder:
    """Transformer, pooling and any dense layers in one graph (exported from the torch backend's own
    sentence-transformers stack, so pooling is the same code); tokenisation is `TextIds`, as for
    torch and MLX. Normalisation and Matryoshka cuts stay in the engine."""

    def __init__(self, name_or_path: str, settings: Settings, display_name: str | None = None) -> None:
        from transformers import AutoTokenizer

        import_onnxruntime()
        check_device(settings)
        model_type_of(name_or_path, OPTIMIZER_TYPE, "embedding models")
        self.model = exported_model(
            name_or_path, "encoder", settings, lambda folder: export_encoder(name_or_path, settings, folder)
        )
        meta = self.model.meta
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model.path))
        family = family_for(meta["model_type"])
        max_tokens = token_limit(meta, settings)
        self.text = TextIds(
            self.tokenizer, append_eos=family.append_eos, max_tokens=max_tokens, padding_side=meta["padding_side"]
        )
        path, dtype = model_file(self.model, settings, self._feeds_of)
        self.session = new_session(path, settings)
        self.info = ModelInfo(
            name=display_name or name_or_path,
            dim=int(meta["dim"]),
            max_tokens=max_tokens,
            backend="onnx",
            device="cpu",
            family=family,
            prompts=dict(meta["prompts"]),
            dtype=dtype,
            vocab_size=meta["vocab_size"],
        )
        logger.info(
            "ONNX encoder %s (%s, %s): family=%s dim=%d max_tokens=%d",
            self.info.name, Path(path).name, dtype, family.name, self.info.dim, max_tokens,
        )  # fmt: skip

    @property
    def exported(self) -> bool:
        """Whether this start exported the model (False: it came from the cache)."""
        return self.model.exported

    def _feeds(self, batch: Batch) -> dict[str, NDArray[Any]]:
        return {"input_ids": batch.ids, "attention_mask": batch.mask.astype(np.int64)}

    def _feeds_of(self, texts: Sequence[str]) -> dict[str, NDArray[Any]]:
        """int8 calibration feeds (at load time, before the engine's stage exists)."""
        return self._feeds(pad_batch(self.text.truncated(texts), self.text.pad_id, self.text.padding_side))

    def encode(self, batch: Batch) -> NDArray[np.float32]:
        (vectors,) = self.session.run(None, self._feeds(batch))
        out: NDArray[np.float32] = np.asarray(vectors, dtype=np.float32)
        return out


def load_encoder(settings: Settings) -> OnnxEncoder:
    """Registry factory: the configured model, or the embedded MiniLM when MODEL_NAME is unset."""
    if settings.model_name:
        return OnnxEncoder(settings.model_name, settings)
    from service.backends.torch.common import default_model_path

    return OnnxEncoder(default_model_path(), settings, display_name=DEFAULT_MODEL_NAME)
