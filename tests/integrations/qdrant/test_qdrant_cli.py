"""`embedrank ingest` / `embedrank search` through main(argv), in-process and as `python -m`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("qdrant_edge")

from integrations.qdrant.cli import add_subcommands, main

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def test_add_subcommands_registers_ingest_and_search() -> None:
    parser = argparse.ArgumentParser(prog="embedrank")
    add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ingest", "docs", "--collection", "c", "--layout", "n8n"])
    assert (args.paths, args.collection, args.layout, args.func.__name__) == (["docs"], "c", "n8n", "run_ingest")
    assert args.prune is True  # deleted files' chunks go by default
    args = parser.parse_args(["search", "why?", "--no-rerank", "--top-k", "3"])
    assert (args.query, args.rerank, args.top_k, args.candidates, args.mode) == ("why?", False, 3, 50, "hybrid")
    assert args.func.__name__ == "run_search"
    assert parser.parse_args(["migrate-store"]).func.__name__ == "run_migrate"


def test_ingest_then_search_human_and_json(
    notes: Path, tmp_path: Path, service_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--service-url", service_url, "--qdrant-path", str(tmp_path / "q"), "--collection", "cli"]
    assert main(["ingest", str(notes), *common]) == 0
    out = capsys.readouterr().out
    assert f"(Qdrant Edge at {(tmp_path / 'q').resolve()}): 7 files seen, 5 ingested, 0 unchanged, 2 skipped" in out
    assert "broken.pdf: unreadable PDF" in out and "latin1.txt: not valid UTF-8" in out

    assert main(["ingest", str(notes), *common, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["files_unchanged"] == 5 and summary["chunks_written"] == 0

    assert main(["search", "How do I oil a bike chain?", *common, "--top-k", "2"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "found by hybrid" in table[0] and str((tmp_path / "q").resolve()) in table[0]
    assert table[1].split() == ["#", "score", "source", "snippet"]
    assert "manual.pdf p.1" in table[3]

    assert main(["search", "How do I oil a bike chain?", *common, "--json", "--no-rerank", "--mode", "dense"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "dense" and result["hits"][0]["name"] == "manual.pdf"
    assert result["hits"][0]["page"] == 1


def test_errors_exit_1_with_a_message(tmp_path: Path, service_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    qdrant = ["--qdrant-path", str(tmp_path / "q")]
    assert main(["search", "anything", "--service-url", service_url, *qdrant, "--collection", "missing"]) == 1
    assert "error: collection 'missing' in Qdrant Edge at" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path), "--service-url", "http://127.0.0.1:9", *qdrant]) == 1
    assert "cannot reach the embedrank service" in capsys.readouterr().err


def test_python_dash_m_entry(notes: Path, tmp_path: Path, service_url: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "integrations.qdrant.cli", "ingest", str(notes / "gardening.md"), "--json"]
    argv += ["--service-url", service_url, "--qdrant-path", str(tmp_path / "q")]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files_ingested"] == 1
