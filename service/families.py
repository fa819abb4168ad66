"""Model families as data: pooling, padding and prompt rules (embedders) and prompt templates (rerankers)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    """How to feed and pool one family of embedding models.

    `pooling=None` means "use the model's own sentence-transformers pooling config".
    `query_template`/`document_template` use `{task}` and `{text}` placeholders; None = no prompt
    from the family (the model's own sentence-transformers prompts, if any, apply instead).
    """

    name: str
    model_types: frozenset[str] = field(default_factory=frozenset)
    pooling: str | None = None
    padding_side: str | None = None
    append_eos: bool = False
    query_template: str | None = None
    document_template: str | None = None
    default_task: str | None = None


QWEN3_TASK = "Given a web search query, retrieve relevant passages that answer the query"

# Decoder embedders: the last real token sees the whole text (causal attention), so it is the
# sentence vector; EOS is appended so that token is the same for every input.
QWEN3 = Family(
    name="qwen3-embedding",
    model_types=frozenset({"qwen3", "qwen2"}),
    pooling="lasttoken",
    padding_side="left",
    append_eos=True,
    query_template="Instruct: {task}\nQuery:{text}",
    document_template=None,
    default_task=QWEN3_TASK,
)

OTHER_DECODERS = Family(
    name="decoder",
    model_types=frozenset({"mistral", "llama", "gemma", "gemma2", "gemma3_text", "phi3", "qwen3_moe"}),
    pooling="lasttoken",
    padding_side="left",
    append_eos=True,
    query_template="Instruct: {task}\nQuery: {text}",
    default_task=QWEN3_TASK,
)

ENCODER = Family(name="encoder")

FAMILIES: tuple[Family, ...] = (QWEN3, OTHER_DECODERS)


def family_for(model_type: str | None) -> Family:
    """The family whose model types include `model_type`; BERT-style encoders otherwise."""
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    return ENCODER


@dataclass(frozen=True)
class RerankerFamily:
    """A causal LM used as a reranker: its prompt template and the two answer tokens it chooses between.

    The prompt is `prefix + body + suffix`; only the body (instruction, query, document) is ever
    truncated. The relevance logit is logit(yes_token) - logit(no_token) at the last position.
    """

    name: str
    architectures: frozenset[str]
    prefix: str
    body_template: str  # placeholders: {task}, {query}, {document}
    suffix: str
    yes_token: str
    no_token: str
    default_task: str
    padding_side: str = "left"
    default_max_tokens: int = 8192  # the official code's max_length; MAX_SEQ_LENGTH overrides it


# Qwen3-Reranker, exactly as in Qwen's model card and reference code (QwenLM/Qwen3-Embedding).
QWEN3_RERANKER = RerankerFamily(
    name="qwen3-reranker",
    architectures=frozenset({"Qwen3ForCausalLM"}),
    prefix=(
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the "
        'Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
    ),
    body_template="<Instruct>: {task}\n<Query>: {query}\n<Document>: {document}",
    suffix="<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    yes_token="yes",
    no_token="no",
    default_task=QWEN3_TASK,
)

RERANKER_FAMILIES: tuple[RerankerFamily, ...] = (QWEN3_RERANKER,)


def reranker_family_for(architectures: list[str] | tuple[str, ...] | None) -> RerankerFamily | None:
    """The causal-LM reranker family a config's `architectures` names; None = a classic cross-encoder."""
    for family in RERANKER_FAMILIES:
        if family.architectures.intersection(architectures or ()):
            return family
    return None
