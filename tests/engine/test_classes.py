"""Classes of work: by size, a caller's declaration wins, one class when disabled; the header's values."""

from __future__ import annotations

import pytest

from service.engine.classes import classify, declared_priority, parse_priority
from service.errors import InvalidInput


def test_size_decides_unless_the_caller_declares() -> None:
    assert classify(30, 2048) == "interactive"
    assert classify(2048, 2048) == "interactive"
    assert classify(2049, 2048) == "bulk"
    assert classify(30, 2048, "bulk") == "bulk"
    assert classify(50_000, 2048, "interactive") == "interactive"


def test_the_declared_priority_of_the_request_applies_and_an_argument_wins() -> None:
    token = declared_priority.set("bulk")
    try:
        assert classify(30, 2048) == "bulk"
        assert classify(30, 2048, "interactive") == "interactive"
    finally:
        declared_priority.reset(token)
    assert classify(30, 2048) == "interactive"


def test_disabled_classes_put_everything_in_one() -> None:
    assert classify(1, 0) == "bulk"
    assert classify(1, 0, "interactive") == "bulk"


def test_header_values() -> None:
    assert parse_priority(" Interactive ") == "interactive"
    assert parse_priority("BULK") == "bulk"
    with pytest.raises(InvalidInput, match="interactive, bulk"):
        parse_priority("urgent")
