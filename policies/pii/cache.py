"""Bounded cache of detection results, keyed by an HMAC of the text.

Neither keys nor values hold text: the key is HMAC-SHA256(secret, text) so a memory
dump does not reveal which texts were seen (nor allow guessing short ones without the
secret), and the value is only spans, entity types and scores.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class FindingCache(Generic[V]):
    """Thread-safe LRU mapping of HMAC(text) -> detection result."""

    def __init__(self, secret: bytes, max_entries: int) -> None:
        if not secret:
            raise ValueError("cache secret must not be empty")
        if max_entries < 0:
            raise ValueError("max_entries must be >= 0")
        self._secret = secret
        self._max = max_entries
        # cachetools caches are not thread-safe: detection threads share this one under the lock.
        self._entries: LRUCache[bytes, V] = LRUCache(maxsize=max(1, max_entries))
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, text: str) -> bytes:
        """The cache key of ``text``."""
        return hmac.new(self._secret, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def get(self, key: bytes) -> V | None:
        """The cached value, or None; a hit becomes the most recently used entry."""
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            return value

    def put(self, key: bytes, value: V) -> None:
        """Store ``value``, evicting the least recently used entries beyond the bound."""
        if self._max == 0:
            return
        with self._lock:
            self._entries[key] = value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"FindingCache(entries={len(self._entries)}, max={self._max})"
