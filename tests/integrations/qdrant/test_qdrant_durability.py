"""Durability on the embedded store: kill -9 mid-ingest, a failed delete, symlink loops, a large streamed file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qdrant_edge")

from integrations.qdrant import ingest_paths, loaders, pipeline
from integrations.qdrant.service_client import EmbedrankClient
from integrations.qdrant.store import QdrantTarget, opened
from integrations.qdrant.store_edge import EdgeStore

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
SENTENCE = "Retry handler {i} backs off after error E{i:04d} when the socket closes; raise --max-retries above {i}. "


def _corpus(root: Path, small: int = 12, big_chunks: int = 300) -> Path:
    root.mkdir(parents=True)
    for i in range(small):
        (root / f"note{i:02d}.md").write_text(f"# Note {i}\n\n" + SENTENCE.format(i=i) * 6)
    # One file of ~big_chunks chunks: more than one embedding batch, so it is written in several pieces.
    (root / "big.txt").write_text("\n\n".join(SENTENCE.format(i=i) * 9 for i in range(big_chunks)))
    return root


def _by_source(target: QdrantTarget, collection: str) -> dict[str, dict[int, dict[str, Any]]]:
    """source -> chunk index -> payload; fails on a chunk index stored twice."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    with opened(target, collection) as store:
        for found in store.scroll():
            meta = found.payload["metadata"]
            chunks = out.setdefault(meta["source"], {})
            assert meta["chunk_index"] not in chunks, f"{meta['source']} chunk {meta['chunk_index']} twice"
            chunks[meta["chunk_index"]] = found.payload
    return out


def test_kill_9_mid_file_then_rerun_equals_a_clean_ingest(tmp_path: Path, service_url: str) -> None:
    corpus = _corpus(tmp_path / "corpus")
    crashed, clean = QdrantTarget(path=str(tmp_path / "crashed")), QdrantTarget(path=str(tmp_path / "clean"))
    argv = [sys.executable, "-m", "integrations.qdrant.cli", "ingest", str(corpus), "--collection", "c",
            "--service-url", service_url, "--qdrant-path", str(crashed.folder), "-v", "--no-progress"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen: list[str] = []
    assert proc.stderr is not None
    deadline = time.monotonic() + 240
    for line in proc.stderr:
        seen.append(line)
        # The first piece of big.txt is written (the log line follows the write): kill it mid-file.
        if "big.txt: " in line and "embedded so far" in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(seen[-20:])
    assert proc.wait(timeout=60) == -signal.SIGKILL, "".join(seen[-20:])

    half = _by_source(crashed, "c")
    big = (corpus / "big.txt").resolve().as_posix()
    assert half.get(big) and 0 not in half[big], "big.txt should be half-written, without its chunk 0"
    rerun = ingest_paths([corpus], "c", service_url=service_url, qdrant=crashed)
    assert rerun.files_ingested >= 1 and big not in [s for s, _ in rerun.skipped]
    ingest_paths([corpus], "c", service_url=service_url, qdrant=clean)
    recovered, expected = _by_source(crashed, "c"), _by_source(clean, "c")
    assert recovered == expected  # every file, every chunk exactly once, the same payloads
    assert len(expected[big]) > pipeline.FLUSH_CHUNKS and sorted(expected[big]) == list(range(len(expected[big])))


def test_failed_surplus_delete_is_redone_on_the_next_run(
    notes: Path, tmp_path: Path, service_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = QdrantTarget(path=str(tmp_path / "q"))
    ingest_paths([notes], "n", service_url=service_url, qdrant=target, chunk_tokens=40, overlap_tokens=5)
    garden = (notes / "gardening.md").resolve().as_posix()
    assert len(_by_source(target, "n")[garden]) >= 3
    (notes / "gardening.md").write_text("# Vegetable garden\n\nOnly chillies this year.\n")

    real_delete = EdgeStore.delete_source

    def failing(self: EdgeStore, source: str, from_index: int = 0) -> int:
        if from_index > 0:
            raise OSError("disk full (injected)")
        return real_delete(self, source, from_index)

    monkeypatch.setattr(EdgeStore, "delete_source", failing)
    with pytest.raises(OSError, match="injected"):
        ingest_paths([notes], "n", service_url=service_url, qdrant=target, chunk_tokens=40, overlap_tokens=5)
    monkeypatch.setattr(EdgeStore, "delete_source", real_delete)
    report = ingest_paths([notes], "n", service_url=service_url, qdrant=target, chunk_tokens=40, overlap_tokens=5)
    assert report.files_ingested == 1 and report.chunks_deleted >= 2  # not "unchanged": chunk 0 was never rewritten
    chunks = _by_source(target, "n")[garden]
    assert list(chunks) == [0] and "chillies" in chunks[0]["text"]


def test_symlink_loops_are_skipped_with_a_reason(notes: Path, tmp_path: Path, service_url: str) -> None:
    (notes / "self.md").symlink_to(notes / "self.md")
    (notes / "ping.md").symlink_to(notes / "pong.md")
    (notes / "pong.md").symlink_to(notes / "ping.md")
    (notes / "sub" / "up").symlink_to(notes, target_is_directory=True)  # a folder loop: never followed
    report = ingest_paths([notes], "n", service_url=service_url, qdrant=QdrantTarget(path=str(tmp_path / "q")))
    reasons = dict(report.skipped)
    assert reasons[str(notes / "self.md")] == "symlink loop"
    assert reasons[str(notes / "ping.md")] == "symlink loop" and reasons[str(notes / "pong.md")] == "symlink loop"
    assert report.files_ingested == 5


class _Recording:
    """The real service client, noting how many texts each embedding request carried."""

    def __init__(self, client: EmbedrankClient) -> None:
        self.client = client
        self.batches: list[int] = []

    def health(self) -> Any:
        return self.client.health()

    def embed(self, texts: Sequence[str], input_type: str = "document", batch_size: int = 32) -> list[list[float]]:
        self.batches.append(len(texts))
        return self.client.embed(texts, input_type, batch_size)

    def count_tokens(self, texts: Sequence[str], batch_size: int = 256) -> list[int] | None:
        return self.client.count_tokens(texts, batch_size)


def _ingest_big(tmp_path: Path, service_url: str, lines: int) -> tuple[Any, int, int, _Recording]:
    """Ingest a generated text file of `lines` paragraphs; (report, file size, peak traced bytes, recorder)."""
    big = tmp_path / f"big{lines}.txt"
    words = ["retry", "handler", "socket", "timeout", "buffer", "cluster", "replica", "shard", "token", "query"]
    with big.open("w") as handle:
        for i in range(lines):  # ~180 words: about one 200-token chunk per paragraph
            handle.write(f"{i} " + " ".join(words[(i * 7 + k) % len(words)] for k in range(180)) + "\n\n")
    with EmbedrankClient(service_url) as client:
        recorder = _Recording(client)
        recorder.health()
        tracemalloc.start()
        try:
            report = ingest_paths([big], big.stem, qdrant=QdrantTarget(path=str(tmp_path / "q")), service=recorder)  # type: ignore[arg-type]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    with opened(QdrantTarget(path=str(tmp_path / "q")), big.stem) as store:
        assert store.count() == report.chunks_written
        assert store.stored_metadata(big.resolve().as_posix())["hash"] == loaders.file_sha256(big)  # type: ignore[index]
    return report, big.stat().st_size, peak, recorder


def test_large_text_file_streams_in_bounded_batches(
    tmp_path: Path, service_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Files above STREAM_BYTES are read block by block and written FLUSH_CHUNKS at a time: the peak memory
    of a file twice as large stays the same (loading it whole would double it)."""
    monkeypatch.setattr(loaders, "STREAM_BYTES", 128 * 1024)
    monkeypatch.setattr(loaders, "BLOCK_BYTES", 32 * 1024)
    caplog.set_level("INFO", logger="integrations.qdrant.pipeline")
    _, small_size, small_peak, _ = _ingest_big(tmp_path, service_url, 450)
    caplog.clear()
    report, size, peak, recorder = _ingest_big(tmp_path, service_url, 900)
    assert size > 1.9 * small_size > 4 * loaders.STREAM_BYTES
    assert report.files_ingested == 1 and report.chunks_written > 3 * pipeline.FLUSH_CHUNKS
    assert max(recorder.batches) <= pipeline.FLUSH_CHUNKS and len(recorder.batches) > 4
    progress = [r.getMessage() for r in caplog.records if "embedded so far" in r.getMessage()]
    assert len(progress) == len(recorder.batches)  # one write (and one progress line) per bounded batch
    assert peak < 1.3 * small_peak, f"peak {peak / 1e6:.1f} MB vs {small_peak / 1e6:.1f} MB for half the file"
    json.dumps(report.as_dict())
