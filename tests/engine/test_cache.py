"""LRU embedding cache: the byte bound, least-recently-used eviction, hit/miss counting, shared vectors."""

from __future__ import annotations

import numpy as np
import pytest

from service.engine.cache import CachedEmbedding, EmbeddingCache, entry_bytes


def entry(value: float, tokens: int = 3, dim: int = 4) -> CachedEmbedding:
    return CachedEmbedding(np.full(dim, value, dtype=np.float32), tokens_used=tokens, tokens_total=tokens)


def room_for(entries: int, dim: int = 4) -> int:
    """Bytes that hold exactly `entries` one-letter-keyed entries of `dim` floats."""
    return entries * entry_bytes("a", entry(0, dim=dim))


def test_bound_evicts_the_least_recently_used() -> None:
    cache = EmbeddingCache(room_for(2))
    cache.put("a", entry(1))
    cache.put("b", entry(2))
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", entry(3))
    assert len(cache) == 2
    assert cache.get("b") is None, "b was least recently used and must be evicted"
    assert cache.get("a") is not None and cache.get("c") is not None


def test_hits_and_misses_are_counted() -> None:
    cache = EmbeddingCache(room_for(8))
    assert cache.get("x") is None
    cache.put("x", entry(1, tokens=5))
    hit = cache.get("x")
    assert hit is not None and hit.tokens_used == 5
    np.testing.assert_array_equal(hit.vector, np.full(4, 1, dtype=np.float32))
    cache.get("x")
    cache.get("y")
    assert cache.stats() == {"entries": 1, "bytes": room_for(1), "max_bytes": room_for(8), "hits": 2, "misses": 2}


def test_the_bound_is_bytes_so_bigger_vectors_mean_fewer_entries() -> None:
    cache = EmbeddingCache(room_for(8, dim=4))
    for i, key in enumerate("abcdefgh"):
        cache.put(key, entry(i, dim=4))
    assert len(cache) == 8
    for i, key in enumerate("ijkl"):
        cache.put(key, entry(i, dim=16))  # each holds 48 more bytes of vector than a dim-4 entry
    assert cache.bytes <= cache.max_bytes
    assert len(cache) < 8 and cache.get("l") is not None and cache.get("a") is None


def test_an_entry_bigger_than_the_whole_cache_is_not_kept() -> None:
    cache = EmbeddingCache(room_for(1, dim=4))
    cache.put("a", entry(1, dim=4096))
    assert len(cache) == 0 and cache.bytes == 0


def test_put_of_an_existing_key_replaces_without_growing() -> None:
    cache = EmbeddingCache(room_for(2))
    cache.put("a", entry(1))
    cache.put("a", entry(7))
    assert len(cache) == 1 and cache.bytes == room_for(1)
    hit = cache.get("a")
    assert hit is not None and float(hit.vector[0]) == 7


def test_size_zero_disables_the_cache() -> None:
    cache = EmbeddingCache(0)
    cache.put("a", entry(1))
    assert cache.get("a") is None and len(cache) == 0
    assert cache.stats()["hits"] == 0


def test_cached_vectors_are_read_only() -> None:
    cache = EmbeddingCache(room_for(2))
    cache.put("a", entry(1))
    hit = cache.get("a")
    assert hit is not None
    with pytest.raises(ValueError):
        hit.vector[0] = 5.0  # one caller must not change another caller's answer


async def test_engine_cache_hits_skip_the_queue(app_client) -> None:  # type: ignore[no-untyped-def]
    async with app_client(embed_cache_mb=1) as client:
        engine = client.app.state.engine
        texts = ["cache me", "and me too"]
        first = await client.post("/embed", json={"texts": texts})
        batches = engine.embed_batcher.stats.batches
        second = await client.post("/embed", json={"texts": texts})
        assert second.json()["vectors"] == first.json()["vectors"]
        assert engine.embed_batcher.stats.batches == batches, "a full cache hit runs no batch"
        assert second.headers["x-compute-tokens"] == "0"
        assert engine.cache.stats()["hits"] == 2
        body = {"query": "a new question", "passages": texts, "use_cross_encoder": False}
        rerank = await client.post("/rerank", json=body)
        assert rerank.status_code == 200
        assert engine.cache.stats()["hits"] == 4, "repeated passages are cache hits"
        assert engine.cache.stats()["misses"] == 3, "two first-time texts, then the new query"
