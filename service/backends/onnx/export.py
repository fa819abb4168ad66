"""Export the torch backends' own module stacks to ONNX, check them against torch, and optimise them."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.config import Settings
from service.tokens.padding import Batch, pad_batch
from service.tokens.pairs import segment_ids

logger = logging.getLogger(__name__)

OPSET = 17
MODEL_FILE = "model.onnx"
_LARGE_BYTES = 1536 << 20  # protobuf stops at 2 GiB: weights go to an external data file above this

# model_type → the onnxruntime transformer optimiser's model type. Anything else is refused at
# start-up: its export is untested and a silent mismatch would serve wrong vectors.
OPTIMIZER_TYPE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "qwen3": "qwen3"}
CROSS_ENCODER_TYPES = {"bert", "roberta", "xlm-roberta"}

_PROBE_TEXTS = ["A man is eating food.", "qdrant", "The quick brown fox jumps over the lazy dog " * 3]
_PROBE_PAIRS = [("a query", "a passage about something else entirely"), ("cats", "cats eat food")]


def export_settings(settings: Settings) -> Settings:
    """The torch model is loaded only to be traced: on the CPU, in float32, at the model's own limit."""
    return settings.model_copy(update={"device": "cpu", "torch_dtype": "float32", "max_seq_length": None})


def _eager_attention(hf_model: Any) -> None:
    # Eager attention traces to the MatMul/Softmax pattern that onnxruntime fuses into one
    # Attention kernel; the SDPA trace is correct too, but stays unfused (measured slower).
    if hasattr(hf_model, "set_attn_implementation"):
        hf_model.set_attn_implementation("eager")
    else:
        hf_model.config._attn_implementation = "eager"


def _stack(modules: Sequence[Any], output: str, names: Sequence[str]) -> Any:
    import torch

    class Stack(torch.nn.Module):  # type: ignore[misc]
        """The sentence-transformers modules the torch backend runs, as one traceable forward."""

        def __init__(self) -> None:
            super().__init__()
            self.stages = torch.nn.ModuleList(modules)

        def forward(self, *inputs: Any) -> Any:
            features = dict(zip(names, inputs, strict=True))
            for stage in self.stages:
                features = stage(features)
            return features[output]

    return Stack().eval()


def _trace(model: Any, feeds: dict[str, np.ndarray], output: str, path: Path) -> None:
    """Legacy TorchScript export with dynamic batch and sequence axes.

    torch 2.13's default (dynamo) exporter also gives correct graphs, but onnxruntime's optimiser
    fuses none of their attention, exports take ~5x longer and it needs onnxscript.
    """
    import torch

    names = list(feeds)
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in names}
    axes[output] = {0: "batch"}
    args = tuple(torch.from_numpy(feeds[name]) for name in names)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        torch.onnx.export(
            model, args, str(path), input_names=names, output_names=[output], dynamic_axes=axes,
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip


def _optimise(path: Path, model_type: str, config: Any) -> None:
    """onnxruntime's transformer optimiser: fused attention, (skip) layer norms, GELU, in place."""
    from onnxruntime.transformers import optimizer

    large = path.stat().st_size > _LARGE_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimised = optimizer.optimize_model(
            str(path),
            model_type=OPTIMIZER_TYPE[model_type],
            num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
            hidden_size=int(getattr(config, "hidden_size", 0) or 0),
        )
    fused = {op: n for op, n in optimised.get_fused_operator_statistics().items() if n}
    for file in path.parent.iterdir():  # drop the unoptimised graph (and its external data)
        if file.is_file() and file.name.startswith(MODEL_FILE):
            file.unlink()
    optimised.save_model_to_file(str(path), use_external_data_format=large, all_tensors_to_one_file=True)
    logger.info("onnxruntime optimiser fused %s", fused or "nothing")


def _check(path: Path, feeds: dict[str, np.ndarray], expected: np.ndarray, what: str) -> None:
    """The optimised graph must reproduce torch on a batch shaped unlike the trace's."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)[0]
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-3, atol=1e-3):
        worst = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("nan")
        raise RuntimeError(f"the ONNX export of {what} does not reproduce torch (max |diff| {worst:.3g})")


def _hf_model(stage: Any) -> Any:
    return getattr(stage, "auto_model", None) or stage.model


def export_encoder(name_or_path: str, settings: Settings, folder: Path) -> dict[str, Any]:
    """Export the torch encoder's stack (transformer, pooling, dense; no Normalize) plus its tokenizer."""
    from service.backends.torch.encoder import TorchEncoder

    started = time.perf_counter()
    encoder = TorchEncoder(name_or_path, export_settings(settings))
    modules = encoder._modules  # the very stack TorchEncoder runs, so pooling is the same code
    hf_model = _hf_model(modules[0])
    model_type = hf_model.config.model_type
    _eager_attention(hf_model)
    side = encoder.text.padding_side
    if encoder.info.family.padding_side is None and side != "right":
        # onnxruntime's fused BERT attention reads the mask as lengths, which needs right padding.
        encoder.tokenizer.padding_side = encoder.text.padding_side = side = "right"

    def batch_of(texts: Sequence[str]) -> Batch:
        return pad_batch(encoder.text.tokenize(texts), encoder.text.pad_id, side)

    def feeds(texts: Sequence[str]) -> dict[str, np.ndarray]:
        batch = batch_of(texts)
        return {"input_ids": batch.ids, "attention_mask": batch.mask.astype(np.int64)}

    path = folder / MODEL_FILE
    _trace(_stack(modules, "sentence_embedding", ["input_ids", "attention_mask"]), feeds(_PROBE_TEXTS[:2]),
           "sentence_embedding", path)  # fmt: skip
    _optimise(path, model_type, hf_model.config)
    probe = _PROBE_TEXTS + _PROBE_TEXTS[:1]
    _check(path, feeds(probe), encoder.encode(batch_of(probe)), name_or_path)
    encoder.tokenizer.save_pretrained(folder)
    logger.info("exported %s to ONNX in %.1fs", name_or_path, time.perf_counter() - started)
    return {
        "model_type": model_type,
        "dim": encoder.info.dim,
        "max_tokens": encoder.info.max_tokens,
        "prompts": encoder.info.prompts,
        "vocab_size": encoder.info.vocab_size,
        "padding_side": side,
    }


def export_cross_encoder(name_or_path: str, settings: Settings, folder: Path) -> dict[str, Any]:
    """Export the torch cross-encoder's stack to one graph answering raw relevance logits."""
    import torch

    from service.backends.torch.cross_encoder import TorchCrossEncoder

    started = time.perf_counter()
    scorer = TorchCrossEncoder(name_or_path, export_settings(settings))
    cross = scorer._model
    hf_model = cross.model
    model_type = hf_model.config.model_type
    if model_type not in CROSS_ENCODER_TYPES:
        raise RuntimeError(
            f"BACKEND=onnx runs BERT-style cross-encoders ({', '.join(sorted(CROSS_ENCODER_TYPES))}); "
            f"{name_or_path!r} is {model_type!r}: use BACKEND=torch"
        )
    _eager_attention(hf_model)
    tokenizer = scorer.tokenizer
    tokenizer.padding_side = "right"  # see export_encoder
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if scorer.pairs.uses_segments else [])
    two_labels = scorer._two_labels

    class Logits(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.stack = _stack(list(cross), "scores", names)

        def forward(self, *inputs: Any) -> Any:
            scores = self.stack(*inputs)
            # As the torch scorer: two labels (no/yes) become the log-odds of "yes".
            return scores[:, 1] - scores[:, 0] if two_labels else scores.reshape(-1)

    def batch_of(pairs: Sequence[tuple[str, str]]) -> Batch:
        rows = [scorer.pairs.tokenize(query, [passage])[0] for query, passage in pairs]
        return pad_batch(rows, scorer.pairs.pad_id, "right")

    def feeds(pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        batch = batch_of(pairs)
        out = {"input_ids": batch.ids, "attention_mask": batch.mask.astype(np.int64)}
        if scorer.pairs.uses_segments:
            out["token_type_ids"] = segment_ids(batch.ids, batch.mask, scorer.pairs.sep_id)
        return out

    path = folder / MODEL_FILE
    _trace(Logits().eval(), feeds(_PROBE_PAIRS), "logits", path)
    _optimise(path, model_type, hf_model.config)
    probe = [*_PROBE_PAIRS, ("one", "two three four five six seven")]
    _check(path, feeds(probe), scorer.score(batch_of(probe)), name_or_path)
    tokenizer.save_pretrained(folder)
    logger.info("exported cross-encoder %s to ONNX in %.1fs", name_or_path, time.perf_counter() - started)
    return {"model_type": model_type, "max_tokens": scorer.info.max_tokens, "segments": scorer.pairs.uses_segments}
