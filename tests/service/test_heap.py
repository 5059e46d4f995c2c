"""The server tunes the garbage collector and freezes the heap after every bundle swap."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from poortwachter.service import heap


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tune_raises_the_thresholds() -> None:
    heap.tune()
    assert gc.get_threshold() == heap.THRESHOLDS


def test_settle_freezes_what_is_alive_and_releases_the_previous_freeze() -> None:
    gc.unfreeze()
    heap.settle()
    first = gc.get_freeze_count()
    assert first > 0
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    heap.settle()  # unfreezes, collects the dropped cycle, freezes again
    assert gc.get_freeze_count() > 0


def test_the_app_settles_the_heap_after_each_swap() -> None:
    from poortwachter.service.app import build_service
    from poortwachter.service.decision_log import DecisionLog, NullSink
    from poortwachter.service.settings import Settings

    log = DecisionLog(NullSink())
    try:
        svc = build_service(Settings(), decision_log=log)
        assert heap.settle in svc.store.listeners
    finally:
        log.close()
