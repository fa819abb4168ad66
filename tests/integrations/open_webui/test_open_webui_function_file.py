"""The function file loads as Open WebUI loads it, and the import JSON is the same function."""

from __future__ import annotations

import json
import subprocess
import sys

from owui_harness import FUNCTION_FILE, FUNCTION_JSON, load_like_open_webui, open_webui_frontmatter

REQUIRED_KEYS = {"title", "author", "version", "required_open_webui_version", "description", "license"}


def test_frontmatter_follows_open_webui_rules() -> None:
    content = FUNCTION_FILE.read_text(encoding="utf-8")
    assert content.splitlines()[0] == '"""'
    frontmatter = open_webui_frontmatter(content)
    assert frontmatter.keys() >= REQUIRED_KEYS
    assert frontmatter["title"] == "embedrank reranker"
    assert all(part.isdigit() for part in frontmatter["version"].split("."))
    # Nothing to pip-install at load time: httpx and pydantic ship with Open WebUI.
    assert not frontmatter.get("requirements")


def test_loads_as_a_filter_that_owns_retrieval() -> None:
    instance, kind, _ = load_like_open_webui(FUNCTION_FILE.read_text(encoding="utf-8"), "embedrank_check")
    module = sys.modules["function_embedrank_check"]
    assert kind == "filter"
    assert not hasattr(module, "Pipe")  # Open WebUI would pick Pipe first
    assert module.file_handler is True
    assert hasattr(instance, "file_handler") and instance.file_handler is True
    assert callable(instance.inlet)
    valves = instance.Valves()
    assert valves.embedrank_url.startswith("http") and valves.rerank_api == "cohere"
    assert {"priority", "embedrank_api_key", "top_k", "candidate_count", "score_threshold"} <= set(
        type(valves).model_fields
    )
    # Open WebUI renders the valves form from this JSON schema.
    schema = instance.Valves.model_json_schema()
    assert schema["properties"]["top_k"]["default"] == 5


def test_import_json_matches_the_python_file() -> None:
    exported = json.loads(FUNCTION_JSON.read_text(encoding="utf-8"))
    assert isinstance(exported, list) and len(exported) == 1
    entry = exported[0]
    assert entry["id"].isidentifier() and entry["id"] == entry["id"].lower()
    assert entry["name"] == "embedrank reranker"
    assert entry["content"] == FUNCTION_FILE.read_text(encoding="utf-8")
    content = entry["content"]
    assert entry["meta"]["description"] == open_webui_frontmatter(content)["description"]
    script = FUNCTION_FILE.parent / "build_function_json.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
