"""Garbage-collector settings for a long-running decision server.

Under load CPython's full (generation 2) collections walked the compiled bundles, the decision cache
and the framework about once a second, pausing every request in flight for 60–260 ms: that was the
p99 of the HTTP benchmark (docs/benchmarks.md, "Where the time goes"). Two measures remove it:

- after each bundle swap, everything alive (compiled bundles, routes, settings) is collected once and
  then *frozen*: moved out of the collector's view. Reference counting still frees what is dropped;
  the previous freeze is undone first, so a replaced snapshot's cycles are reclaimed at the next swap;
- a higher allocation threshold makes full collections rare while young collections keep catching
  short-lived cycles.
"""

from __future__ import annotations

import gc

__all__ = ["THRESHOLDS", "settle", "tune"]

THRESHOLDS = (20_000, 20, 1_000)  # young allocations, young→middle, middle→full (CPython: 700, 10, 10)


def tune() -> None:
    """Set the collector's thresholds for a server process (once, at start-up)."""
    gc.set_threshold(*THRESHOLDS)


def settle(_snapshot: object = None) -> None:
    """Collect what a swap left behind, then freeze the long-lived heap (a store listener)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
