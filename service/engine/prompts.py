"""Query/document prompt rules: the family's instruction template, else the model's own prompts."""

from __future__ import annotations

from typing import Literal

from service.backends.base import ModelInfo

InputType = Literal["query", "document", "classification", "clustering"]

# Instruction-tuned families embed classification/clustering inputs as instructed queries (as their
# authors evaluate them); these are the tasks when the caller names none.
TASKS = {
    "classification": "Classify the given text into its category",
    "clustering": "Identify the topic or theme of the given text",
}


class PromptFormatter:
    """Turns (text, input type, task) into the exact string the model must see."""

    def __init__(self, info: ModelInfo, default_task: str | None) -> None:
        self._family = info.family
        self._model_prompts = info.prompts
        self.default_task = default_task or info.family.default_task

    def format(self, text: str, input_type: InputType, task: str | None = None) -> str:
        instructed = input_type != "document"
        template = self._family.query_template if instructed else self._family.document_template
        if template is not None:
            return template.format(task=task or TASKS.get(input_type) or self.default_task, text=text)
        # Models such as E5/BGE/Nomic ship their own prompts ("query: ", "passage: ", "clustering: ").
        names = {"query": ("query",), "document": ("document", "passage")}.get(input_type, (input_type,))
        for name in names:
            if name in self._model_prompts:
                return self._model_prompts[name] + text
        return text

    def uses_task(self) -> bool:
        """Whether a per-request instruction changes anything for this model."""
        return self._family.query_template is not None
