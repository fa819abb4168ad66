"""Query/document prompt rules: the family's instruction template, else the model's own prompts."""

from __future__ import annotations

from typing import Literal

from service.backends.base import ModelInfo

InputType = Literal["query", "document"]


class PromptFormatter:
    """Turns (text, input type, task) into the exact string the model must see."""

    def __init__(self, info: ModelInfo, default_task: str | None) -> None:
        self._family = info.family
        self._model_prompts = info.prompts
        self.default_task = default_task or info.family.default_task

    def format(self, text: str, input_type: InputType, task: str | None = None) -> str:
        template = self._family.query_template if input_type == "query" else self._family.document_template
        if template is not None:
            return template.format(task=task or self.default_task, text=text)
        # Models such as E5/BGE ship their own prompts ("query: ", "passage: ").
        names = ("query",) if input_type == "query" else ("document", "passage")
        for name in names:
            if name in self._model_prompts:
                return self._model_prompts[name] + text
        return text

    def uses_task(self) -> bool:
        """Whether a per-request instruction changes anything for this model."""
        return self._family.query_template is not None
