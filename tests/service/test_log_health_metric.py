"""The ``decision_log_healthy`` gauge is one value per process; a decision log's watchdog writes it when
that log's health changes, so a second, healthy log in the same process (a test's, or one left open)
cannot paint over a dead one between two ticks. Found as a flaky CI failure: the scrape read 1.0 just
after /readyz had reported the writer dead."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from prometheus_client import REGISTRY

from poortwachter.logbook.terms import LogHealth
from poortwachter.service import decision_log as decision_log_module
from poortwachter.service.decision_log import DecisionLog


class FixedSink:
    """A watched sink whose health the test sets."""

    durable = False
    watched = True
    wait_timeout = 1.0

    def __init__(self, ok: bool) -> None:
        self.state = LogHealth(ok=ok, live=ok, detail=None if ok else "writer thread died")

    def record(self, event: Any) -> None: ...

    async def settle(self, seqs: list[int]) -> str | None:
        return None

    def kick(self) -> None: ...

    def health(self) -> LogHealth:
        return self.state

    def close(self, timeout: float) -> None: ...


def gauge() -> float | None:
    return REGISTRY.get_sample_value("poortwachter_decision_log_healthy")


def test_a_healthy_log_beside_a_dead_one_does_not_reset_the_gauge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decision_log_module, "WATCH_SECONDS", 0.01)
    healthy = DecisionLog(FixedSink(ok=True))
    dead = DecisionLog(FixedSink(ok=False))
    try:
        assert not dead.health().ok and gauge() == 0.0
        threading.Event().wait(0.2)  # twenty ticks of the healthy log's watchdog
        assert gauge() == 0.0
    finally:
        healthy.close()
        dead.close()
        decision_log_module.metrics.decision_log_health(True)


def test_the_watchdog_reports_a_change_of_its_own_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decision_log_module, "WATCH_SECONDS", 0.01)
    decision_log_module.metrics.decision_log_health(True)  # as open_decision_log reports a new log
    sink = FixedSink(ok=True)
    log = DecisionLog(sink)
    try:
        threading.Event().wait(0.05)
        assert gauge() == 1.0
        sink.state = LogHealth(ok=False, live=True, detail="stuck")
        for _ in range(100):
            if gauge() == 0.0:
                break
            threading.Event().wait(0.01)
        assert gauge() == 0.0
        sink.state = LogHealth(ok=True)
        for _ in range(100):
            if gauge() == 1.0:
                break
            threading.Event().wait(0.01)
        assert gauge() == 1.0
    finally:
        log.close()
        decision_log_module.metrics.decision_log_health(True)
