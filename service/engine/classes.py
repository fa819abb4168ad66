"""Two classes of work: interactive (a query, a small rerank) and bulk (large batches); how a request gets one."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Literal, get_args

from service.errors import InvalidInput

WorkClass = Literal["interactive", "bulk"]
WORK_CLASSES: tuple[WorkClass, ...] = get_args(WorkClass)
PRIORITY_HEADER = "x-embedrank-priority"

# What the caller declared for the request being served (the HTTP layer sets it from the header), so
# every dialect's route gets it without passing it through; an explicit `priority=` argument wins.
declared_priority: ContextVar[WorkClass | None] = ContextVar("declared_priority", default=None)


def parse_priority(value: str) -> WorkClass:
    """A caller's `interactive` / `bulk` (any case); anything else is a 422 naming the choices."""
    cleaned = value.strip().lower()
    if cleaned not in WORK_CLASSES:
        raise InvalidInput(
            f"{PRIORITY_HEADER} must be one of {', '.join(WORK_CLASSES)}, got {value[:40]!r}", param="priority"
        )
    return cleaned


def classify(estimated_tokens: int, interactive_max_tokens: int, declared: WorkClass | None = None) -> WorkClass:
    """The caller's declaration if any, else by size: a request whose estimated tokens fit the interactive
    limit is interactive. With the limit at 0 (WORK_CLASSES=false) everything is one class, bulk."""
    if interactive_max_tokens <= 0:
        return "bulk"
    chosen = declared if declared is not None else declared_priority.get()
    if chosen is not None:
        return chosen
    return "interactive" if estimated_tokens <= interactive_max_tokens else "bulk"
