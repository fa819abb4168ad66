"""Run each named client call in this (client-family) venv; write every outcome as JSON for the parent test."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

# One call answers {"query": vector}, {"documents": vectors}, {"scores": floats} or {"ranking": [[index, score]]}.
Call = Callable[[dict[str, Any]], dict[str, Any]]


def plain(values: Any) -> Any:
    """numpy arrays and tuples as JSON lists of floats."""
    if hasattr(values, "tolist"):
        return values.tolist()
    if isinstance(values, list | tuple):
        return [plain(v) for v in values]
    return float(values)


def run(calls: dict[str, Call]) -> None:
    """argv: the case file (base URL, key, texts) and the output file; a failing call is recorded, not raised."""
    with open(sys.argv[1]) as source:
        case = json.load(source)
    outcomes: dict[str, Any] = {}
    for name, call in calls.items():
        try:
            outcomes[name] = call(case)
        except Exception as exc:  # whatever a call raises is its outcome, reported by the test
            last = traceback.extract_tb(exc.__traceback__)[-1]
            outcomes[name] = {"error": f"{type(exc).__name__}: {exc}"[:1500], "at": f"{last.filename}:{last.lineno}"}
    with open(sys.argv[2], "w") as out:
        json.dump(outcomes, out)
