"""Every setting is documented: a description on the field and a line in .env.example."""

from __future__ import annotations

from pathlib import Path

from service.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_every_setting_has_a_description_and_an_example_line() -> None:
    example = ENV_EXAMPLE.read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert name.upper() + "=" in example, f"{name.upper()} missing from .env.example"
