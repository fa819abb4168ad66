"""Builders of tiny random models, made offline in well under a second, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "by",
    "qdrant",
    "vector",
    "database",
    "search",
    "rank",
    "query",
    "passage",
    "document",
    "embedding",
    "model",
    "server",
    "local",
    "python",
    "rust",
    "fast",
    "slow",
    "cat",
    "dog",
    "food",
    "eat",
    "bread",
    "man",
    "woman",
    "girl",
    "baby",
    "carry",
    "yes",
    "no",
    "apple",
    "mac",
    "linux",
    "gpu",
    "cpu",
    "memory",
    "token",
    "text",
]

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _qwen_tokenizer(append_eos: bool) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=QWEN_SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))]
    corpus += [" yes", " no", "yes", "no", "Instruct: Query: <Document>: <Query>: <Instruct>:"]
    tok.train_from_iterator(corpus, trainer)
    if append_eos:
        eos = tok.token_to_id("<|endoftext|>")
        tok.post_processor = processors.TemplateProcessing(
            single="$A <|endoftext|>",
            pair="$A $B <|endoftext|>",
            special_tokens=[("<|endoftext|>", eos)],
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        model_max_length=128,
    )


def _qwen_config(vocab_size: int, eos_id: int, **overrides: object) -> object:
    from transformers import Qwen3Config

    settings: dict[str, object] = dict(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=128,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        tie_word_embeddings=False,
    )
    settings.update(overrides)
    return Qwen3Config(**settings)


def build_qwen3_embedding(path: Path, *, append_eos: bool = True, seed: int = 0) -> Path:
    """A 2-layer Qwen3Model + BPE tokenizer saved as a bare Hugging Face folder."""
    import torch
    from transformers import Qwen3Model

    torch.manual_seed(seed)
    tokenizer = _qwen_tokenizer(append_eos)
    config = _qwen_config(len(tokenizer), tokenizer.eos_token_id)  # type: ignore[arg-type, attr-defined]
    Qwen3Model(config).eval().save_pretrained(path)  # type: ignore[arg-type]
    tokenizer.save_pretrained(path)  # type: ignore[attr-defined]
    return path


def build_qwen3_reranker(path: Path, *, seed: int = 0) -> Path:
    """A 2-layer Qwen3ForCausalLM whose vocabulary holds "yes" and "no" as single tokens (a tiny Qwen3-Reranker).

    The official prompt is ~120 tokens with this small vocabulary, hence 512 positions; weights
    drawn wider than the default 0.02 so that different documents get clearly different scores.
    """
    import torch
    from transformers import Qwen3ForCausalLM

    torch.manual_seed(seed)
    tokenizer = _qwen_tokenizer(append_eos=False)
    for token in ("yes", "no"):
        assert tokenizer.convert_tokens_to_ids(token) != tokenizer.unk_token_id, f"{token!r} must be one token"  # type: ignore[attr-defined]
    tokenizer.model_max_length = 512  # type: ignore[attr-defined]
    config = _qwen_config(
        len(tokenizer),  # type: ignore[arg-type]
        tokenizer.eos_token_id,  # type: ignore[attr-defined]
        max_position_embeddings=512,
        initializer_range=0.2,
    )
    Qwen3ForCausalLM(config).eval().save_pretrained(path)  # type: ignore[arg-type]
    tokenizer.save_pretrained(path)  # type: ignore[attr-defined]
    return path


def build_bert_cross_encoder(path: Path, *, seed: int = 0) -> Path:
    """A tiny BertForSequenceClassification (1 label) loadable by sentence-transformers CrossEncoder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    torch.manual_seed(seed)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    # transformers 5 ignores `vocab_file=`: pass the vocabulary as a dict.
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, model_max_length=128)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=128,
        num_labels=1,
        initializer_range=0.5,  # the default 0.02 makes every score tie
    )
    BertForSequenceClassification(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
