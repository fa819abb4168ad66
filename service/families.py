"""Model families as data: pooling, padding and prompt rules keyed by the model's `model_type`."""

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
