"""Qdrant store helpers against a real embedded (on-disk) Qdrant."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("qdrant_client")

from integrations.qdrant import store
from integrations.qdrant.store import QdrantTarget, StoreError


def _rows(source: str, n: int, dim: int = 4) -> list[tuple[str, list[float], dict[str, object]]]:
    return [
        (store.point_id(source, i), [1.0, float(i), 0.5, 0.25][:dim], {"text": f"{source} {i}",
         "metadata": {"source": source, "chunk_index": i}})
        for i in range(n)
    ]  # fmt: skip


def test_point_ids_are_deterministic_uuid5() -> None:
    assert store.point_id("/a/b.md", 0) == store.point_id("/a/b.md", 0)
    assert store.point_id("/a/b.md", 0) != store.point_id("/a/b.md", 1)
    # Pinned: changing the namespace or key format would orphan every existing collection's points.
    assert store.point_id("/a/b.md", 0) == "515107a8-727a-5590-9784-70cf480e275e"


def test_create_check_write_delete(tmp_path: Path) -> None:
    target = QdrantTarget(path=str(tmp_path / "q"))
    with store.open_client(target) as client:
        assert store.ensure_collection(client, target, "c", 4) is True
        assert store.ensure_collection(client, target, "c", 4) is False
        with pytest.raises(StoreError, match="holds 4-dim vectors but the service embeds 8-dim"):
            store.ensure_collection(client, target, "c", 8)
        store.upsert(client, target, "c", _rows("/d/a.md", 5) + _rows("/d/b.md", 2))
        assert client.count("c").count == 7
        assert store.stored_metadata(client, "c", "/d/a.md") == {"source": "/d/a.md", "chunk_index": 0,
                                                                  "_text_key": "text"}  # fmt: skip
        assert store.stored_metadata(client, "c", "/d/zzz.md") is None
        assert store.list_sources(client, "c") == {"/d/a.md", "/d/b.md"}
        assert store.delete_source(client, "c", "/d/a.md", from_index=3) == 2
        assert client.count("c").count == 5
        assert store.delete_source(client, "c", "/d/a.md") == 3
        assert store.list_sources(client, "c") == {"/d/b.md"}


def test_named_vector_collections(tmp_path: Path) -> None:
    named = QdrantTarget(path=str(tmp_path / "q"), vector_name="dense")
    with store.open_client(named) as client:
        store.ensure_collection(client, named, "n", 4)
        store.upsert(client, named, "n", _rows("/x", 1))
        assert store.collection_dim(client, "n", "dense") == 4
        with pytest.raises(StoreError, match="named vectors"):
            store.collection_dim(client, "n", None)


def test_second_local_client_gets_a_clear_error(tmp_path: Path) -> None:
    target = QdrantTarget(path=str(tmp_path / "q"))
    with (
        store.open_client(target),
        pytest.raises(StoreError, match="open in another process"),
        store.open_client(target),
    ):
        pass


def test_threads_of_one_process_take_turns_on_a_local_folder(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    target = QdrantTarget(path=str(tmp_path / "q"))
    with store.open_client(target) as client:
        store.ensure_collection(client, target, "c", 4)

    def count(_: int) -> int:
        with store.open_client(target) as client:
            return int(client.count("c").count)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(count, range(8))) == [0] * 8
