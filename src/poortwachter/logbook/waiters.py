"""The requests that wait for their records: asyncio futures, released from the writer's threads.

A request awaits a future of its own event loop (:meth:`LogWriter.wait_async`); the writer thread
completes a batch and the watchdog thread ends waits that passed ``wait_timeout``. Neither may touch a
future directly (asyncio futures are not thread-safe), so both hand the results to each waiter's loop
with one ``call_soon_threadsafe`` per loop and batch (one wake-up of that loop, not one per request).

:class:`Waiters` holds no lock of its own: the writer calls it with its lock held and releases what it
returns (:func:`release`, :func:`expire`) after letting go of the lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

Released = dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool]]]


class Waiter(NamedTuple):
    """One request waiting until record ``seq`` is written, at most until ``deadline`` (monotonic)."""

    seq: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]
    deadline: float


class Waiters:
    """The waiting requests, in the order they came, which is also their deadlines' order."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[Waiter] = []

    def add(self, waiter: Waiter) -> None:
        self._items.append(waiter)

    def expired(self, now: float) -> list[Waiter]:
        """Take the waits whose deadline has passed."""
        n = 0
        while n < len(self._items) and self._items[n].deadline <= now:
            n += 1
        taken, self._items = self._items[:n], self._items[n:]
        return taken

    def done(self, last: int, outcome: Callable[[int], bool]) -> Released:
        """Take the waits for records up to ``last``, with whether each was written, grouped by loop."""
        released: Released = {}
        keep = []
        for waiter in self._items:
            if waiter.seq <= last:
                released.setdefault(waiter.loop, []).append((waiter.future, outcome(waiter.seq)))
            else:
                keep.append(waiter)
        self._items = keep
        return released


def _resolve(items: list[tuple[asyncio.Future[bool], bool]]) -> None:
    for fut, ok in items:
        if not fut.done():
            fut.set_result(ok)


def release(released: Released) -> None:
    """In the writer's thread, without its lock: tell each loop's waiters their outcome."""
    for loop, items in released.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # that loop is closed; nobody is waiting any more
            pass


def expire(expired: list[Waiter], end: Callable[[asyncio.Future[bool]], None]) -> None:
    """In the watchdog's thread, without the writer's lock: have each loop ``end`` its timed-out waits."""
    for waiter in expired:
        try:
            waiter.loop.call_soon_threadsafe(end, waiter.future)
        except RuntimeError:  # that loop is closed; nobody is waiting any more
            pass
