"""Torch backend for causal-LM rerankers (Qwen3-Reranker): logit("yes") − logit("no") at the last position."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from service.backends.base import Batch, ScorerInfo
from service.backends.model_config import is_mlx_format, read_config, reranker_family_of
from service.backends.torch.common import resolve_device, resolve_dtype, set_threads
from service.config import Settings
from service.families import RerankerFamily
from service.tokens.rerank_prompt import RerankPrompt, reranker_max_tokens

logger = logging.getLogger(__name__)


class TorchQwen3Reranker:
    """A Qwen3ForCausalLM reranker run by transformers; the engine applies the sigmoid."""

    def __init__(self, name_or_path: str, family: RerankerFamily, settings: Settings) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        config = read_config(name_or_path) or {}
        if is_mlx_format(config):
            raise RuntimeError(
                f"{name_or_path!r} holds MLX-quantised weights, which only MLX runs: use BACKEND=mlx on Apple "
                "Silicon, or point CROSS_ENCODER_MODEL at the original Hugging Face model"
            )
        set_threads(settings.num_threads)  # NUM_THREADS means the same for every backend
        self._torch = torch
        device = resolve_device(settings.device)
        dtype = resolve_dtype(settings.torch_dtype, device)
        model, loading = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype, output_loading_info=True)
        if loading.get("missing_keys"):
            # e.g. an embedding checkpoint (no LM head): its "yes"/"no" logits would be random.
            raise RuntimeError(
                f"{name_or_path!r} is not a complete causal LM (missing {sorted(loading['missing_keys'])[:3]}); "
                f"a {family.name} needs its LM head"
            )
        self._model = model.to(device).eval()
        self._device = device
        max_tokens = reranker_max_tokens(family, config, settings.max_seq_length)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        self.pairs = RerankPrompt(tokenizer, family, max_tokens=max_tokens, default_task=settings.default_instruction)
        self.info = ScorerInfo(
            name=name_or_path,
            max_tokens=max_tokens,
            backend="torch",
            device=device,
            kind=family.name,
            dtype=str(dtype).removeprefix("torch."),
        )
        logger.info("loaded %s %s on %s (%s, max_tokens=%d)", family.name, name_or_path, device, dtype, max_tokens)

    def cast(self, dtype: str) -> None:
        """Convert the weights in place (DTYPE=auto's calibration tries bfloat16 on the loaded model)."""
        self._model.to(getattr(self._torch, dtype))
        self.info = replace(self.info, dtype=dtype)

    def score(self, batch: Batch) -> NDArray[np.float32]:
        torch = self._torch
        with torch.inference_mode():
            output = self._model(
                input_ids=torch.from_numpy(batch.ids).to(self._device),
                attention_mask=torch.from_numpy(batch.mask.astype(np.int64)).to(self._device),
                logits_to_keep=1,  # left padding: the answer position is the last column
            )
            logits = output.logits[:, -1, :].float()
            diff = logits[:, self.pairs.yes_id] - logits[:, self.pairs.no_id]
        scores: NDArray[np.float32] = diff.cpu().numpy().astype(np.float32)
        return scores


def load_scorer(settings: Settings) -> TorchQwen3Reranker:
    """Registry factory for a CROSS_ENCODER_MODEL that is a causal-LM reranker."""
    assert settings.cross_encoder_model, "load_scorer needs CROSS_ENCODER_MODEL"
    family = reranker_family_of(settings.cross_encoder_model)
    if family is None:
        raise RuntimeError(f"{settings.cross_encoder_model!r} is not a causal-LM reranker")
    return TorchQwen3Reranker(settings.cross_encoder_model, family, settings)
