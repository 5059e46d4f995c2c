"""The server process tunes the garbage collector and freezes the heap after every bundle swap; an app
made for a test (``create_app``) leaves the process as it found it."""

from __future__ import annotations

import atexit
import gc
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from poortwachter.service import heap
from poortwachter.service.app import create_app, create_app_from_env
from poortwachter.service.decision_log import WRITER_SWITCH_INTERVAL, DecisionLog, NullOutput
from poortwachter.service.settings import SETTINGS_ENV, Settings


@pytest.fixture(autouse=True)
def _restore_process() -> Iterator[None]:
    before, switch = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)
    sys.setswitchinterval(switch)


class _Node:
    """A reference cycle (only the collector frees it) that can be watched through a weak reference."""

    def __init__(self) -> None:
        self.me = self


def test_tune_raises_the_thresholds() -> None:
    gc.set_threshold(700, 10, 10)
    heap.tune()
    assert gc.get_threshold() == heap.THRESHOLDS


def test_settle_freezes_what_is_alive_and_releases_the_previous_freeze() -> None:
    gc.unfreeze()
    node = _Node()
    watch = weakref.ref(node)
    heap.settle()
    assert not any(o is node for o in gc.get_objects())  # frozen: out of the collector's view
    del node
    gc.collect()
    assert watch() is not None  # a frozen cycle is not collected...
    heap.settle()
    assert watch() is None  # ...until the next swap unfreezes and collects it


def test_an_app_made_for_a_test_leaves_the_process_alone() -> None:
    gc.set_threshold(700, 10, 10)
    sys.setswitchinterval(0.005)
    log = DecisionLog(NullOutput())
    app = create_app(Settings(reload="off"), decision_log=log)
    with TestClient(app):
        assert heap.settle not in app.state.service.store.listeners
    log.close()
    assert gc.get_threshold() == (700, 10, 10) and sys.getswitchinterval() == 0.005


def test_the_worker_factory_tunes_its_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(reload="off", decision_log=str(tmp_path / "log"))
    monkeypatch.setenv(SETTINGS_ENV, settings.model_dump_json())
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", "k" * 32)
    gc.set_threshold(700, 10, 10)
    sys.setswitchinterval(0.005)
    app = create_app_from_env()
    svc = app.state.service
    try:
        assert gc.get_threshold() == heap.THRESHOLDS
        assert sys.getswitchinterval() == pytest.approx(WRITER_SWITCH_INTERVAL)
        assert heap.settle in svc.store.listeners
    finally:
        atexit.unregister(svc.decision_log.close)
        svc.decision_log.close()
