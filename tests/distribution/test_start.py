"""A worker that starts with a bundle source and no set cached in ``state_dir`` (a pod's first start).

Every worker of ``poortwachter serve`` accepts connections on the one shared socket once its startup ends.
A worker that ended its startup with nothing loaded, while the polling worker (the lead) was still pulling
or its own watcher had not yet followed ``source/current``, answered every decision it took with
``400 context.bundle: expected one of the bundles loaded (none)`` while its sibling already decided (and
made /readyz say ready). Here the lead is this test (it holds the poll lock and installs the set, as a
sibling worker would), so the order of events is fixed: no registry, no timing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from support import free_port

from poortwachter.service.source_state import SourceState, Status

from .conftest import Keys, artifact, yc_request
from .test_pull import revision_of


def test_a_worker_beside_the_polling_one_answers_only_once_it_has_the_set(prod_keys: Keys, tmp_path: Path,
                                                                         serve_source: Any) -> None:
    source = f"http://127.0.0.1:{free_port()}/index.json"  # never asked: the lead is the test
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    lead = SourceState(tmp_path / "state", source)
    assert lead.lead()  # the sibling that polls; the service below follows ``current``
    installed = threading.Event()

    def pull_and_install() -> None:
        time.sleep(0.5)  # the lead's poll takes a while; the follower has finished loading nothing by then
        lead.install("sha256:" + "1" * 64, {v1.name: v1.read_bytes()})
        installed.set()

    puller = threading.Thread(target=pull_and_install)
    puller.start()
    try:
        with serve_source(source, keys=[prod_keys.folder]) as app:
            # the first decision this worker answers is decided by the set, never "no bundles loaded"
            r = app.client.post("/access/v1/evaluation", json=yc_request())
            assert r.status_code == 200, r.text
            assert installed.is_set()
            assert r.json()["context"]["bundle"]["revision"] == revision_of(v1)
            assert app.ready()
    finally:
        puller.join(10)
        lead.release()


def test_a_first_start_without_the_source_is_not_ready_and_says_why_without_waiting_long(
        prod_keys: Keys, serve_source: Any) -> None:
    source = f"http://127.0.0.1:{free_port()}/index.json"  # nothing listens: the first poll fails at once
    began = time.monotonic()
    with serve_source(source, keys=[prod_keys.folder], bundle_source_timeout=30) as app:
        started = time.monotonic() - began
        r = app.client.get("/readyz")
        assert r.status_code == 503, r.text
        assert r.json()["bundles"]["source"]["last_error_cause"] == "network"
    assert started < 10, f"startup waited {started:.1f} s for a source that had already failed"


def test_a_worker_beside_the_polling_one_stops_waiting_once_the_lead_reports_the_source_down(
        prod_keys: Keys, tmp_path: Path, serve_source: Any) -> None:
    source = f"http://127.0.0.1:{free_port()}/index.json"
    lead = SourceState(tmp_path / "state", source)
    assert lead.lead()

    def poll_fails() -> None:
        time.sleep(0.3)
        lead.write_status(Status(source, last_error="GET …: ConnectError", last_error_cause="network",
                                 last_error_at=time.time(), failures=1))

    failing = threading.Thread(target=poll_fails)
    failing.start()
    began = time.monotonic()
    try:
        with serve_source(source, keys=[prod_keys.folder], bundle_source_timeout=30) as app:
            started = time.monotonic() - began
            r = app.client.get("/readyz")
            assert r.status_code == 503 and r.json()["bundles"]["source"]["last_error_cause"] == "network", r.text
    finally:
        failing.join(10)
        lead.release()
    assert 0.3 <= started < 10, f"startup took {started:.1f} s"
