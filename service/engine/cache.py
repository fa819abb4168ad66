"""A byte-bounded LRU cache of raw embeddings keyed by the exact text the model sees."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class CachedEmbedding:
    """A raw vector with the token counts it was computed from (used and before truncation)."""

    vector: NDArray[np.float32]
    tokens_used: int
    tokens_total: int


# Per entry beyond the vector and key: the OrderedDict slot, the dataclass and the array header.
_ENTRY_OVERHEAD_BYTES = 250


def entry_bytes(key: str, entry: CachedEmbedding) -> int:
    """What one entry holds in memory, near enough to bound the cache by bytes."""
    return sys.getsizeof(key) + entry.vector.nbytes + _ENTRY_OVERHEAD_BYTES


class EmbeddingCache:
    """LRU bounded by memory, not entries: a 4096-dim model's vectors are 10x a MiniLM's. The key is the
    prompt-formatted text, so the model, input type and instruction are all part of it (one process
    serves one model)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedEmbedding] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the console may call from another thread
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> CachedEmbedding | None:
        if self.max_bytes == 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, entry: CachedEmbedding) -> None:
        size = entry_bytes(key, entry)
        if size > self.max_bytes:
            return  # also covers a disabled cache (0 bytes)
        entry.vector.setflags(write=False)  # shared between requests: nobody may edit it
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= entry_bytes(key, old)
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                old_key, old_entry = self._entries.popitem(last=False)
                self._bytes -= entry_bytes(old_key, old_entry)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self),
            "bytes": self._bytes,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        }
