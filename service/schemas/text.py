"""Text fields shared by every dialect: an empty, blank or invisible text is a 4xx, never a vector or a score."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, StrictStr
from pydantic_core import PydanticCustomError

from service.visible import BLANK_MESSAGE, has_visible_text

BLANK = BLANK_MESSAGE


def not_blank(value: str) -> str:
    if not has_visible_text(value):
        raise PydanticCustomError("blank_text", BLANK)
    return value


# A string with something to embed or rank in it.
Text = Annotated[StrictStr, AfterValidator(not_blank)]


def no_blank_texts(value: Any) -> Any:
    """For the OpenAI/TEI input unions: every string (alone or in a list) must carry text; ids pass."""
    items = [value] if isinstance(value, str) else value
    for i, item in enumerate(items):
        if isinstance(item, str) and not has_visible_text(item):
            where = "" if isinstance(value, str) else f"item {i} "
            raise PydanticCustomError("blank_text", f"{where}{BLANK}")
    return value
