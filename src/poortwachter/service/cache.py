"""The decision cache: (bundle revision, derived facts) → verdict and its rendered context.

Keyed on the *derived* facts, never on the raw request: facts settle everything time-dependent at
``context.time`` (the age in whole years, whether a consent is valid now), so a request that is
byte-for-byte the same as yesterday's but whose client turned 16 overnight, or whose consent has
since been withdrawn, has other facts and misses the cache. The revision (the artifact's content
hash) makes a bundle switch or rollback a different key space. The value is a pure function of the
key (evaluate is deterministic), so a hit can never be stale, only the TTL bounds memory use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cachetools import TTLCache

from ..core.policy.values import FactValue
from ..core.verdict import Verdict
from . import metrics

Key = tuple[str, frozenset[tuple[str, FactValue]]]
Entry = tuple[Verdict, dict[str, Any]]


def key_of(revision: str, facts: Mapping[str, FactValue]) -> Key:
    """A frozenset of the fact items: order-free, and bool/int/str values are all hashable."""
    return revision, frozenset(facts.items())


class DecisionCache:
    """A TTL + LRU cache with hit and miss counts; ``size`` 0 disables it (every lookup misses)."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self._data: TTLCache[Key, Entry] | None = TTLCache(maxsize=size, ttl=ttl) if size > 0 else None
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Entry | None:
        if self._data is None:
            return None
        entry = self._data.get(key)
        if entry is None:
            self.misses += 1
            metrics.observe_cache(False)
        else:
            self.hits += 1
            metrics.observe_cache(True)
        return entry

    def put(self, key: Key, entry: Entry) -> None:
        if self._data is not None:
            self._data[key] = entry

    def stats(self) -> dict[str, int]:
        return {"size": len(self._data) if self._data is not None else 0, "capacity": self.size,
                "hits": self.hits, "misses": self.misses}
