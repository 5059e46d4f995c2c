"""Issue 17: a worker on another bundle set than its siblings makes /readyz fail and says so."""

from __future__ import annotations

import os
from pathlib import Path

from poortwachter.service import siblings
from poortwachter.service.siblings import GRACE_SECONDS, Siblings, disagreement, publish

from .conftest import MakeHarness

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def test_apart_only_after_the_grace_period_and_only_from_live_siblings(tmp_path: Path) -> None:
    publish(tmp_path, 101, A, now=1000.0)
    publish(tmp_path, 202, B, now=1000.0)
    live = {101, 202}.__contains__
    assert disagreement(tmp_path, 101, A, 1000.0, now=1000.0 + GRACE_SECONDS, alive=live) is None  # converging
    late = disagreement(tmp_path, 101, A, 1000.0, now=1001.0 + GRACE_SECONDS, alive=live)
    assert late is not None and "worker 202" in late and B[7:19] in late
    assert disagreement(tmp_path, 101, B, 1000.0, now=5000.0, alive=live) is None  # same set: in step
    assert disagreement(tmp_path, 101, A, 1000.0, now=5000.0, alive={101}.__contains__) is None  # 202 is gone
    assert not (tmp_path / siblings.FOLDER / "202.json").exists()  # and its file removed


def test_readyz_fails_while_this_worker_is_apart(make_harness: MakeHarness, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with make_harness(state_dir=state) as h:
        assert h.client.get("/readyz").status_code == 200
        own = h.svc.siblings
        assert isinstance(own, Siblings) and own.digest == h.svc.store.snapshot.digest
        sibling = os.getppid()  # a live process standing in for a sibling worker
        own.since -= GRACE_SECONDS + 5  # both sets have stood that long
        publish(state, sibling, B, now=own.since)
        r = h.client.get("/readyz")
        assert r.status_code == 503 and f"worker {sibling}" in r.json()["detail"]
        assert "poortwachter_bundle_workers_apart 1.0" in h.client.get("/metrics").text
        publish(state, sibling, own.digest, now=own.since)  # it caught up
        assert h.client.get("/readyz").status_code == 200
        assert "poortwachter_bundle_workers_apart 0.0" in h.client.get("/metrics").text
