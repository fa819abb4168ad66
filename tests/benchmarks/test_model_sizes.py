"""The model-size benchmark end to end on 1-layer shapes: a real server per backend, the offline ceiling, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import REPO

pytestmark = pytest.mark.slow


def test_benchmark_writes_rows_for_every_load(tmp_path: Path) -> None:
    out = tmp_path / "sizes.json"
    command = [
        sys.executable, "benchmarks/model_sizes.py", "--models", "qwen3-embedding-0.6b", "--backends", "torch",
        "--layers", "1", "--rerank-with", "qwen3-embedding-0.6b=qwen3-reranker-0.6b", "--work", str(tmp_path),
        "--single", "2", "--short", "8", "--short-clients", "4", "--passages", "4", "--passages-per-request", "2",
        "--passage-clients", "2", "--passage-tokens", "60", "--rerank-passages", "2", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    model = report["models"]["qwen3-embedding-0.6b (1 of 28 layers)"]
    assert model["model"]["layers"] == 1 and model["model"]["random_weights"] is True
    assert model["model"]["query_prompt_tokens"] > 10  # queries carry Qwen3's instruction
    row = model["backends"]["torch"]
    assert row["health"]["family"] == "qwen3-embedding"
    for load in ("single", "short", "passages", "rerank"):
        assert row[load]["texts_per_s"] > 0 and not row[load]["errors"], load
    assert row["short"]["requests"] == 8 - 2  # warm-up: a quarter of the queries, at most one per client
    assert row["rerank"]["method"] == "cross-encoder"
    assert 0 < row["passages"]["vs_offline"] < 10
    assert row["min_cosine_to_first_backend"]["query"] > 0.9999  # the first backend is the reference
    assert "| qwen3-embedding-0.6b (1 of 28 layers) | torch | cpu | float32 |" in done.stdout
