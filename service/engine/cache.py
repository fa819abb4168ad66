"""A bounded LRU cache of raw embeddings keyed by the exact text the model sees."""

from __future__ import annotations

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


class EmbeddingCache:
    """LRU by entry count. The key is the prompt-formatted text, so the model, input type and
    instruction are all part of it (one process serves one model)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedEmbedding] = OrderedDict()
        self._lock = threading.Lock()  # the console may call from another thread
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> CachedEmbedding | None:
        if self.max_entries == 0:
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
        if self.max_entries == 0:
            return
        entry.vector.setflags(write=False)  # shared between requests: nobody may edit it
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self),
            "max_entries": self.max_entries,
            "hits": self.hits,
            "misses": self.misses,
        }
