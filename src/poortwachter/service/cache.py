"""The decision cache: (bundle revision, derived facts) → verdict and its rendered context.

Keyed on the *derived* facts, never on the raw request: facts settle everything time-dependent at
``context.time`` (the age in whole years, whether a consent is valid now), so a request that is
byte-for-byte the same as yesterday's but whose client turned 16 overnight, or whose consent has
since been withdrawn, has other facts and misses the cache. The revision (the artifact's content
hash) makes a bundle switch or rollback a different key space. The value is a pure function of the
key (evaluate is deterministic), so a hit can never be stale; the size bounds memory, the TTL how long an
entry lives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..core.policy.values import FactValue
from ..core.verdict import Verdict
from . import metrics

Key = tuple[str, frozenset[tuple[str, FactValue]]]
Entry = tuple[Verdict, dict[str, Any]]


def key_of(revision: str, facts: Mapping[str, FactValue]) -> Key:
    """A frozenset of the fact items: order-free, and bool/int/str values are all hashable."""
    return revision, frozenset(facts.items())


class DecisionCache:
    """A TTL + LRU cache with hit and miss counts; ``size`` 0 disables it (every lookup misses).

    One dict in recency order (a hit moves its key to the end, the front is evicted) with an expiry
    time per entry: a lookup is a pop, a clock read and a re-insert (issue 16: ``cachetools.TTLCache``
    cost several microseconds per decision in its timer and link bookkeeping). An entry past its TTL
    is never returned; it is dropped when looked up or when it reaches the front. Used from the event
    loop only (the decider runs there), so no lock.
    """

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._data: dict[Key, tuple[float, Entry]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Entry | None:
        if self.size <= 0:
            return None
        item = self._data.pop(key, None)
        if item is not None and item[0] > self._clock():
            self._data[key] = item  # the most recently used now
            self.hits += 1
            metrics.observe_cache(True)
            return item[1]
        self.misses += 1
        metrics.observe_cache(False)
        return None

    def put(self, key: Key, entry: Entry) -> None:
        if self.size <= 0:
            return
        data = self._data
        data.pop(key, None)
        data[key] = (self._clock() + self.ttl, entry)
        while len(data) > self.size:
            del data[next(iter(data))]  # the least recently used

    def stats(self) -> dict[str, int]:
        return {"size": len(self._data), "capacity": self.size, "hits": self.hits, "misses": self.misses}
