"""A short-lived cache for the lookups on the STS/authorization hot path.

IAM itself is eventually consistent: AWS documents that changes to roles and policies take time to
become visible everywhere. This cache gives the same guarantee, bounded: a write made through this
process clears the cache at once (so a client never reads its own write stale), and a write made by
another replica (PostgreSQL) becomes visible here within ``ttl_seconds``. ``ttl_seconds=0`` turns it off.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")
DEFAULT_TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000


class LookupCache:
    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, int, object]] = {}
        self._generation = 0

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        if self.ttl <= 0:
            return load()
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
            generation = self._generation
        if hit is not None and hit[0] > now and hit[1] == generation:
            return hit[2]  # type: ignore[return-value]
        value = load()
        with self._lock:
            if self._generation == generation:  # a write since the load started: do not keep it
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (now + self.ttl, generation, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
