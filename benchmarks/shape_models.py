"""Build production-shaped Qwen3 models (random weights, offline tokenizer) that embedrank serves, for benchmarks.

    python benchmarks/shape_models.py qwen3-embedding-0.6b /tmp/q06             # MODEL_NAME=/tmp/q06
    python benchmarks/shape_models.py qwen3-reranker-0.6b /tmp/r06               # CROSS_ENCODER_MODEL=/tmp/r06
    python benchmarks/shape_models.py qwen3-embedding-4b /tmp/q4 --layers 2      # a 2-layer slice of the 4B
    python benchmarks/shape_models.py qwen3-embedding-4b /tmp/q4 --dtype bfloat16 --device cuda   # full 4B, GPU

The layer sizes are the published ones, so a forward pass costs exactly what the real model's
does (dense matmuls do not care what the weights are). The weights are random: these folders
measure speed and memory, never quality; their vectors and scores mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from service.families import QWEN3_RERANKER, QWEN3_TASK  # noqa: E402

# The official sentence-transformers query prompt of Qwen3-Embedding (config_sentence_transformers.json).
QUERY_PROMPT = f"Instruct: {QWEN3_TASK}\nQuery:"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKER = "embedrank_shape.json"


@dataclass(frozen=True)
class Shape:
    """The sizes that decide a Qwen3 model's cost, as its config.json publishes them."""

    name: str
    kind: str  # "embedding" (Qwen3Model, last-token pooling) or "reranker" (Qwen3ForCausalLM)
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    tie_word_embeddings: bool
    published_params: int  # what the published checkpoint holds (see `source`)
    source: str


SHAPES = {
    # Qwen/Qwen3-Embedding-0.6B config.json: hidden 1024, 28 layers, 16 heads, 8 KV heads, head_dim 128,
    # intermediate 3072, vocab 151669, 32768 positions, tied embeddings. 595,776,512 parameters: the
    # keras-hub preset qwen3_embedding_0.6b_en; the formula below reproduces it exactly.
    "qwen3-embedding-0.6b": Shape(
        "qwen3-embedding-0.6b", "embedding", 1024, 28, 16, 8, 128, 3072, 151669, 32768, True, 595_776_512,
        "huggingface.co/Qwen/Qwen3-Embedding-0.6B config.json; keras-hub preset qwen3_embedding_0.6b_en",
    ),
    # Qwen/Qwen3-Embedding-4B config.json: hidden 2560, 36 layers, 32 heads, 8 KV heads, head_dim 128,
    # intermediate 9728, vocab 151665, 40960 positions (the card says 32k context), tied.
    # 4,021,774,336 parameters: keras-hub preset qwen3_embedding_4b_en (the formula gives the same).
    "qwen3-embedding-4b": Shape(
        "qwen3-embedding-4b", "embedding", 2560, 36, 32, 8, 128, 9728, 151665, 40960, True, 4_021_774_336,
        "huggingface.co/Qwen/Qwen3-Embedding-4B config.json; keras-hub preset qwen3_embedding_4b_en",
    ),
    # Qwen/Qwen3-Reranker-0.6B: a Qwen3ForCausalLM on Qwen3-0.6B-Base's shape (28 layers, hidden 1024,
    # 16/8 heads, intermediate 3072), LM head tied to the embeddings, so no parameters beyond the
    # 0.6B embedder's. Only the last position's logits are computed (logits_to_keep=1).
    "qwen3-reranker-0.6b": Shape(
        "qwen3-reranker-0.6b", "reranker", 1024, 28, 16, 8, 128, 3072, 151669, 40960, True, 595_776_512,
        "huggingface.co/Qwen/Qwen3-Reranker-0.6B model card (28 layers, 0.6B, 32k context)",
    ),
}  # fmt: skip


def param_count(shape: Shape, layers: int | None = None) -> int:
    """Parameters of the shape with `layers` decoder layers (default: all), counted from the config alone."""
    h, q, kv = shape.hidden_size, shape.num_attention_heads * shape.head_dim, shape.num_key_value_heads * shape.head_dim
    attention = h * q + 2 * h * kv + q * h + 2 * shape.head_dim  # q, k, v, o projections; q/k RMSNorm
    mlp = 3 * h * shape.intermediate_size  # gate, up, down
    layer = attention + mlp + 2 * h  # two RMSNorms
    embeddings = shape.vocab_size * h
    head = 0 if shape.tie_word_embeddings or shape.kind == "embedding" else shape.vocab_size * h
    count = layers if layers is not None else shape.num_hidden_layers
    return embeddings + count * layer + h + head  # + the final norm


def matmul_flops_per_token(shape: Shape, seq_len: float) -> float:
    """Forward FLOPs per token: 2 x the decoder's matmul weights + attention scores and values."""
    layer = param_count(shape, 1) - param_count(shape, 0)
    attention = 4 * seq_len * shape.num_attention_heads * shape.head_dim * shape.num_hidden_layers
    return 2.0 * layer * shape.num_hidden_layers + attention


def _corpus() -> list[str]:
    """Training text for the tokenizer: common words, made-up two-syllable words, and the prompts.

    Each word appears with and without a leading space, so both are single tokens and the
    benchmark can build texts of exact token lengths from them (benchmarks/workload.py).
    """
    common = " ".join(
        [
            "the of and to in is for on with as by that this from are was be at or an it not can which",
            "search vector database local server private documents model embedding query passage rank fast",
            "memory token text python rust cloud storage index cluster network latency answer question yes no",
            "customer invoice weather garden kitchen travel music history science energy market policy",
        ]
    ).split()
    rng = random.Random(20261202)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    made_up = sorted({rng.choice(syllables) + rng.choice(syllables) + rng.choice("nrstl") for _ in range(4000)})
    words = common + made_up
    prompts = [QUERY_PROMPT, QWEN3_RERANKER.prefix, QWEN3_RERANKER.body_template, QWEN3_RERANKER.suffix]
    return (words + [" " + word for word in words]) * 3 + prompts * 20


def build_tokenizer(append_eos: bool, vocab_size: int = 8192) -> Any:
    """A byte-level BPE with Qwen's special tokens, trained offline in about a second.

    It has far fewer ids than the real one (the embedding matrix keeps the real vocabulary size,
    so the model costs the same); EOS is appended like Qwen3-Embedding's own tokenizer does.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_corpus(), trainer)
    if append_eos:
        eos = tok.token_to_id(SPECIALS[0])
        tok.post_processor = processors.TemplateProcessing(
            single=f"$A {SPECIALS[0]}", pair=f"$A $B {SPECIALS[0]}", special_tokens=[(SPECIALS[0], eos)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=SPECIALS[0],
        pad_token=SPECIALS[0],
        padding_side="left",
        model_max_length=32768,
    )


def _check_memory(shape: Shape, layers: int | None, dtype: str, device: str) -> None:
    """Refuse a build that would not fit in this machine's free RAM (e.g. the full 4B in fp32: 16 GB)."""
    if device != "cpu":
        return
    need = param_count(shape, layers) * (4 if dtype == "float32" else 2) * 2  # weights + save buffers
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return
    if need > available * 0.7:
        raise SystemExit(
            f"{shape.name} with {layers or shape.num_hidden_layers} layers in {dtype} needs ~{need / 2**30:.1f} GiB, "
            f"{available / 2**30:.1f} GiB free: use --layers N, --dtype bfloat16 or --device cuda"
        )


def folder_name(name: str, layers: int | None, dtype: str, vocab: int | None = None) -> str:
    """How the benchmarks name a built shape's folder, so they find each other's builds."""
    return f"{name}-{layers or 'full'}-{dtype}{f'-v{vocab}' if vocab else ''}"


def qwen3_config(
    shape: Shape, layers: int | None, eos_id: int, dtype: str = "float32", vocab: int | None = None
) -> Any:
    """The transformers config of the shape (all layers unless `layers` says fewer)."""
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=vocab or shape.vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=layers or shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        head_dim=shape.head_dim,
        max_position_embeddings=shape.max_position_embeddings,
        tie_word_embeddings=shape.tie_word_embeddings,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        dtype=dtype,
    )


def model_class(shape: Shape) -> Any:
    from transformers import Qwen3ForCausalLM, Qwen3Model

    return Qwen3Model if shape.kind == "embedding" else Qwen3ForCausalLM


def build(
    name: str,
    out: Path,
    *,
    layers: int | None = None,
    dtype: str = "float32",
    device: str = "cpu",
    seed: int = 0,
    vocab: int | None = None,
) -> Path:
    """Write the shape as a folder embedrank loads (MODEL_NAME / CROSS_ENCODER_MODEL); returns `out`.

    `vocab` cuts the embedding matrix to the tokenizer's ids: its rows cost memory, not compute
    (a lookup), so a cut model runs at the real speed; only the ONNX proxy in the README uses it.
    """
    import torch

    shape = SHAPES[name]
    _check_memory(shape, layers, dtype, device)
    tokenizer = build_tokenizer(append_eos=shape.kind == "embedding")
    if vocab is not None and vocab < len(tokenizer):
        raise ValueError(f"vocab {vocab} is smaller than the tokenizer's {len(tokenizer)} ids")
    config = qwen3_config(shape, layers, tokenizer.eos_token_id, dtype, vocab)
    cls = model_class(shape)
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))  # build straight in the target dtype: no fp32 copy
    try:
        with torch.device(device):
            model = cls(config).eval()
    finally:
        torch.set_default_dtype(previous)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if shape.kind == "embedding":
        _write_sentence_transformers_files(out, shape)
    built = sum(p.numel() for p in model.parameters())
    marker = {
        "shape": asdict(shape),
        "layers": config.num_hidden_layers,
        "dtype": dtype,
        "seed": seed,
        "params": built,
        "params_formula": param_count(shape, layers) if vocab is None else None,
        "vocab_size": config.vocab_size,
        "note": "random weights: for speed and memory measurements only, never for quality",
    }
    (out / MARKER).write_text(json.dumps(marker, indent=2))
    del model
    return out


def _write_sentence_transformers_files(out: Path, shape: Shape) -> None:
    """The sentence-transformers files Qwen3-Embedding ships: Transformer -> last-token Pooling -> Normalize."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {
        "word_embedding_dimension": shape.hidden_size,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": True,
        "include_prompt": True,
    }
    prompts = {"prompts": {"query": QUERY_PROMPT, "document": ""}, "default_prompt_name": None}
    (out / "modules.json").write_text(json.dumps(modules, indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 8192, "do_lower_case": False}))
    (out / "config_sentence_transformers.json").write_text(json.dumps(prompts, indent=2))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))
    (out / "2_Normalize").mkdir(exist_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("out", type=Path, help="folder to write (created)")
    parser.add_argument("--layers", type=int, default=None, help="fewer decoder layers (tests, CPU); default all")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("--device", default="cpu", help="where to initialise the weights (cuda: fast for the 4B)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab", type=int, default=None, help="cut the embedding rows (memory only; default real)")
    args = parser.parse_args()
    build(
        args.shape, args.out, layers=args.layers, dtype=args.dtype, device=args.device, seed=args.seed, vocab=args.vocab
    )
    marker = json.loads((args.out / MARKER).read_text())
    print(f"{args.shape}: {marker['layers']} layers, {marker['params']:,} parameters ({args.dtype}) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
