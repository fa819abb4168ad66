"""Against a real Qdrant server: payload indexes, the BM25 sparse vector, and the same ingest/search path.

Skipped unless QDRANT_URL is set (QDRANT_API_KEY too if the server wants one): no Qdrant server binary
installs on the CI machines (none on PyPI, apt or npm) and there is no Docker engine. The store cases of
test_qdrant_store.py also run against it then. Run with e.g. `docker run -p 6333:6333 qdrant/qdrant` and
`QDRANT_URL=http://localhost:6333 pytest tests/integrations/qdrant`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("qdrant_client")

from integrations.qdrant import QdrantTarget, ingest_paths, search
from integrations.qdrant.bm25 import SPARSE_NAME
from integrations.qdrant.store import opened

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("QDRANT_URL"), reason="needs a Qdrant server: set QDRANT_URL"),
]


@pytest.fixture()
def server_target() -> Iterator[tuple[QdrantTarget, str]]:
    target = QdrantTarget(path=None, url=os.environ["QDRANT_URL"], api_key=os.environ.get("QDRANT_API_KEY"))
    collection = f"embedrank-test-{uuid.uuid4().hex[:8]}"
    yield target, collection
    with opened(target, collection) as store:
        store.client.delete_collection(collection)  # type: ignore[attr-defined]


def test_server_ingest_creates_indexes_sparse_vectors_and_searches(
    notes: Path, service_url: str, server_target: tuple[QdrantTarget, str]
) -> None:
    target, collection = server_target
    report = ingest_paths([notes], collection, service_url=service_url, qdrant=target)
    assert report.files_ingested == 5
    with opened(target, collection) as store:
        info = store.client.get_collection(collection)  # type: ignore[attr-defined]
        assert {"metadata.source", "metadata.chunk_index"} <= set(info.payload_schema)
        assert str(info.config.params.sparse_vectors[SPARSE_NAME].modifier).lower().endswith("idf")
        assert store.count() == report.chunks_written
    again = ingest_paths([notes], collection, service_url=service_url, qdrant=target)
    assert again.files_unchanged == 5
    for mode in ("dense", "bm25", "hybrid"):
        hit = search("How do I oil a bike chain?", collection, top_k=1, service_url=service_url, qdrant=target,
                     mode=mode).hits[0]  # type: ignore[arg-type]  # fmt: skip
        assert hit.name == "manual.pdf"
