"""The decision log as the service sees it (issue 17): a hostile request cannot stall later ones, a stuck
or dead writer turns /readyz (and for a dead one /healthz) and the metric, waits end in a 503."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from poortwachter.logbook import query as q
from poortwachter.service.app import create_app
from poortwachter.service.settings import Settings

LOG_KEY = "operations-test-pseudonym-key-0123456789"

T = TypeVar("T")


def bounded(call: Callable[[], T], seconds: float = 10.0) -> T:
    """``call()`` in a thread; fails the test (instead of hanging it) when it takes longer."""
    out: list[T] = []
    t = threading.Thread(target=lambda: out.append(call()), daemon=True)
    t.start()
    t.join(seconds)
    assert out, f"no answer within {seconds} s: the request hangs"
    return out[0]


@pytest.fixture
def client(tmp_path: Path, mini_bundles: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", LOG_KEY)
    bundles = tmp_path / "bundles"
    shutil.copytree(mini_bundles, bundles)
    # the edge's body bounds (max_json_depth) stop deep JSON first; opened up here, the log must hold by itself
    deep = {"max_json_depth": 512} if "max_json_depth" in Settings.model_fields else {}
    settings = Settings(trust_dev_key=True, bundles=bundles, dossier_type_bundles={"jgz": "mini"}, max_clock_skew=0, reload="off", decision_log=str(tmp_path / "log"),
                        decision_log_wait_timeout=0.5, **deep)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def nested(depth: int) -> Any:
    value: Any = "prof-1"
    for _ in range(depth):
        value = {"by": value}
    return value


def test_a_deeply_nested_value_cannot_stall_the_log(client: TestClient, parent: Any) -> None:
    hostile = parent(1)
    hostile["context"]["attestations"] = [{"kind": "emergency", "by": nested(300)}]
    r = bounded(lambda: client.post("/access/v1/evaluation", json=hostile))
    assert r.status_code in (200, 400)
    r = bounded(lambda: client.post("/access/v1/evaluations", json={"evaluations": [hostile, parent(2)]}))
    assert r.status_code in (200, 503)  # a malformed item is a logged deny in place
    for i in range(3):
        r = bounded(lambda i=i: client.post("/access/v1/evaluation", json=parent(10 + i)))  # type: ignore[misc]
        assert r.status_code == 200, r.text
    assert bounded(lambda: client.get("/readyz")).status_code == 200
    assert bounded(lambda: client.get("/healthz")).status_code == 200
    folder = Path(client.app.state.service.settings.decision_log)  # type: ignore[attr-defined]
    assert len(list(q.read_records(folder))) >= 3


def test_a_stuck_writer_answers_503_in_time_and_reports_it(client: TestClient, parent: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.post("/access/v1/evaluation", json=parent(1)).status_code == 200
    release = threading.Event()
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (release.wait(20), real(fd)))
    try:
        r = bounded(lambda: client.post("/access/v1/evaluation", json=parent(2)), 5)
        assert r.status_code == 503 and r.json()["type"].endswith("/decision-log-unavailable")
        assert "decision" not in r.json() and "0.5 s" in r.json()["detail"]
        ready = bounded(lambda: client.get("/readyz"), 5)
        assert ready.status_code == 503 and "no progress" in ready.json()["detail"]
        assert bounded(lambda: client.get("/healthz"), 5).status_code == 200  # stuck is not dead: no restart
        metrics = client.get("/metrics").text
        assert "poortwachter_decision_log_healthy 0.0" in metrics
        assert re.search(r'poortwachter_decision_log_timeouts_total\{stage="durable"\} [1-9]', metrics)
    finally:
        release.set()
    for _ in range(300):
        if client.get("/readyz").status_code == 200:
            break
        threading.Event().wait(0.02)
    assert client.post("/access/v1/evaluation", json=parent(3)).status_code == 200
    assert "poortwachter_decision_log_healthy 1.0" in client.get("/metrics").text


class Dead(BaseException):
    pass


def test_a_dead_writer_fails_readiness_and_liveness(client: TestClient, parent: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    writer = client.app.state.service.decision_log.writer  # type: ignore[attr-defined]

    def die(*args: Any) -> None:
        raise Dead("simulated")

    monkeypatch.setattr(writer, "_write_batch", die)
    r = bounded(lambda: client.post("/access/v1/evaluation", json=parent(1)), 5)
    assert r.status_code == 503 and r.json()["type"].endswith("/decision-log-unavailable")
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "died" in ready.json()["detail"]
    live = client.get("/healthz")
    assert live.status_code == 503 and "died" in live.json()["detail"]
    assert "poortwachter_decision_log_healthy 0.0" in client.get("/metrics").text
    assert bounded(lambda: client.post("/access/v1/evaluation", json=parent(2)), 5).status_code == 503
