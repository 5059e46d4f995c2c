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
from operator import itemgetter
from typing import Any

from ..core.policy.values import FactValue
from ..core.verdict import Verdict
from . import metrics

Key = tuple[str, tuple[str, ...], tuple[FactValue, ...]]
Entry = tuple[Verdict, dict[str, Any]]
#: the fact names sorted, and a function giving the values of a facts mapping in that order
Layout = tuple[tuple[str, ...], Callable[[Mapping[str, FactValue]], tuple[FactValue, ...]]]
MAX_LAYOUTS = 4096  # distinct fact-name orders remembered (a vocabulary has a handful)


def key_of(revision: str, facts: Mapping[str, FactValue]) -> Key:
    """The revision, the fact names in sorted order and the values in that order: order-free, and the
    bool/int/str values are all hashable.

    Not a frozenset of the items (as before): that made sixty new item tuples per entry for the
    youth-care facts, and the garbage collector walked every one of them in the entries made since its
    last pass; on the real bundles over HTTP that was a pause of 45–140 ms under load (issue 16). Here an
    entry adds one tuple of values, which are shared objects (vocabulary strings, booleans, small ints);
    the sorted names and the getter that reads the values in their order are made once per order of
    names (``_LAYOUTS``)."""
    names = tuple(facts)
    layout = _LAYOUTS.get(names)
    if layout is None:
        layout = _layout(names)
        if len(_LAYOUTS) < MAX_LAYOUTS:
            _LAYOUTS[names] = layout
    order, values = layout
    return revision, order, values(facts)


def _layout(names: tuple[str, ...]) -> Layout:
    order = tuple(sorted(names))
    if len(order) == 1:  # itemgetter of one name gives the value itself, not a tuple
        only = order[0]
        return order, lambda facts: (facts[only],)
    if not order:
        return order, lambda facts: ()
    return order, itemgetter(*order)


_LAYOUTS: dict[tuple[str, ...], Layout] = {}  # per order of names (a dict's get and set are atomic: no lock)


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
