"""Search end to end: questions find the expected file, with and without reranking, in every layout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("qdrant_edge")

from qdrant_fixtures import build_docs
from qdrant_server import running_server

from integrations.qdrant import QdrantTarget, ingest_paths, search
from integrations.qdrant.service_client import EmbedrankClient, ServiceError
from integrations.qdrant.store import StoreError, opened

pytestmark = pytest.mark.slow

QUESTIONS = [
    ("How often should I water my tomato plants?", "gardening.md", None),
    ("How do I oil a bike chain?", "manual.pdf", 1),
    ("What air pressure do road bike tyres need?", "manual.pdf", 2),
    ("How do I feed a sourdough starter?", "recipes.html", None),
    ("What do I need to renew my passport?", "faq.jsonl", None),
    ("Which planet shows its moons in binoculars?", "astronomy.txt", None),
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, service_url: str) -> Iterator[QdrantTarget]:
    root = tmp_path_factory.mktemp("search")
    target = QdrantTarget(path=str(root / "qdrant"))
    ingest_paths([build_docs(root / "notes")], "notes", service_url=service_url, qdrant=target)
    yield target


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize(("question", "name", "page"), QUESTIONS)
def test_question_finds_the_expected_file(
    indexed: QdrantTarget, service_url: str, question: str, name: str, page: int | None, mode: str
) -> None:
    result = search(question, "notes", top_k=3, service_url=service_url, qdrant=indexed, mode=mode)  # type: ignore[arg-type]
    # MiniLM alone: no cross-encoder, so the store's order stands (a bi-encoder rerank would repeat it).
    assert result.method == mode
    assert result.hits[0].name == name and result.hits[0].page == page
    assert [hit.rank for hit in result.hits] == [1, 2, 3]
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_without_rerank_scores_are_qdrant_cosines(indexed: QdrantTarget, service_url: str) -> None:
    with EmbedrankClient(service_url) as client:
        result = search(QUESTIONS[0][0], "notes", top_k=2, rerank=False, qdrant=indexed, service=client, mode="dense")
        again = search(QUESTIONS[0][0], "notes", top_k=2, use_cross_encoder=False, qdrant=indexed, service=client,
                       mode="dense")  # fmt: skip
    assert result.method == "dense" and len(result.hits) == 2 and result.candidates == 2
    assert again.method == "dense + bi-encoder"
    assert result.hits[0].score == result.hits[0].vector_score
    assert result.hits[0].name == "gardening.md"
    assert again.candidates > 2  # reranking fetched the wider candidate pool
    # Same model on both sides: the bi-encoder rerank score is the cosine Qdrant computed.
    assert again.hits[0].score == pytest.approx(again.hits[0].vector_score, abs=1e-4)


def test_keywords_need_bm25(indexed: QdrantTarget, service_url: str) -> None:
    """A token only one chunk holds: BM25 and hybrid put that chunk first; the modes report themselves."""
    bm = search("SECRETSTYLETOKEN chillies", "notes", top_k=3, service_url=service_url, qdrant=indexed, mode="bm25")
    assert bm.method == "bm25" and [hit.name for hit in bm.hits] == []  # the style block never reaches the text
    found = search("Jupiter", "notes", top_k=1, service_url=service_url, qdrant=indexed, mode="bm25").hits
    assert found[0].name == "astronomy.txt" and found[0].score > 0
    with pytest.raises(ValueError, match="mode must be one of"):
        search("x", "notes", service_url=service_url, qdrant=indexed, mode="sparse")  # type: ignore[arg-type]


def test_service_url_from_the_environment(
    indexed: QdrantTarget, service_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDRANK_SERVICE_URL", service_url)
    assert search(QUESTIONS[0][0], "notes", top_k=1, qdrant=indexed).hits[0].name == "gardening.md"
    monkeypatch.setenv("EMBEDRANK_SERVICE_URL", "http://127.0.0.1:9")
    with pytest.raises(ServiceError, match=r"127\.0\.0\.1:9"):
        search(QUESTIONS[0][0], "notes", top_k=1, qdrant=indexed)


def test_hits_carry_metadata_for_display(indexed: QdrantTarget, service_url: str) -> None:
    with opened(indexed, "notes") as store:  # a caller's own long-lived store (the console's way)
        hit = search("pruning side shoots", "notes", top_k=1, service_url=service_url, store=store).hits[0]
    assert hit.name == "gardening.md" and hit.title == "Vegetable garden notes"
    assert hit.headings == "Vegetable garden > Tomatoes > Pruning"
    assert Path(hit.source).is_absolute() and hit.chunk_index is not None and "side shoots" in hit.text
    assert hit.metadata["hash"]


def test_missing_collection_and_bad_arguments(indexed: QdrantTarget, service_url: str) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        search("anything", "nope", service_url=service_url, qdrant=indexed)
    with pytest.raises(ValueError):
        search("   ", "notes", service_url=service_url, qdrant=indexed)


def test_other_layouts_are_searchable(tmp_path: Path, service_url: str) -> None:
    notes = build_docs(tmp_path / "notes")
    target = QdrantTarget(path=str(tmp_path / "q"), vector_name="dense_vec")
    ingest_paths([notes], "lc", service_url=service_url, qdrant=target, layout="langchain")
    hit = search(QUESTIONS[3][0], "lc", top_k=1, service_url=service_url, qdrant=target).hits[0]
    assert hit.name == "recipes.html" and "starter" in hit.text


def test_cross_encoder_and_api_key(indexed: QdrantTarget, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A second server with a tiny random cross-encoder and an API key: search sends the key and
    reports the cross-encoder's scores; without the key the error says what is missing."""
    from tests import tiny_models

    workdir = tmp_path_factory.mktemp("server-ce")
    model = tiny_models.build_bert_cross_encoder(workdir / "ce")
    with running_server(workdir, CROSS_ENCODER_MODEL=str(model), API_KEY="s3cret") as url:
        with pytest.raises(ServiceError, match=r"HTTP 401.*--api-key"):
            search(QUESTIONS[0][0], "notes", service_url=url, qdrant=indexed)
        result = search(
            QUESTIONS[0][0], "notes", top_k=3, candidates=10, service_url=url, api_key="s3cret", qdrant=indexed
        )
        vector_only = search(
            QUESTIONS[0][0], "notes", top_k=3, rerank=False, service_url=url, api_key="s3cret", qdrant=indexed
        )
    assert result.method == "hybrid + cross-encoder" and result.candidates == 10
    assert len(result.hits) == 3
    # Random weights: scores are the cross-encoder's, not the cosines Qdrant returned.
    assert [hit.score for hit in result.hits] != [hit.score for hit in vector_only.hits]
