"""Nothing lost, nothing doubled (issue 12): the real service under load, its shipper killed with kill -9
and the store cut off, then recovered. After recovery every answered decision id is in PostgreSQL
exactly once and every chain verifies; meanwhile /readyz and the metrics reported the lag.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from faults.conftest import Load, wait_answers
from journal_util import write_journal
from proxy import Proxy
from support import LOG_KEY, TLS, logged_ids, serve, wait_until

from poortwachter.logbook.central.db import Target, connect
from poortwachter.logbook.central.verify import rebuild
from poortwachter.logbook.query import verify as verify_folder


def _stored(store: Target) -> tuple[list[str], int]:
    """The decision ids in the store (each once) and the number of rows."""
    with connect(store) as conn:
        rows = [str(r[0]) for r in conn.execute("SELECT decision_id FROM decisions")]
    return sorted(set(rows)), len(rows)


def _verifies(store: Target, journal: Path, scratch: Path) -> None:
    with connect(store) as conn:
        report = rebuild(conn, scratch)
    problems = list(report.problems)
    for folder in [*report.folders, journal]:
        problems += [f"{f.path.name}: {p}" for f in verify_folder(folder) for p in f.problems]
    assert problems == [], problems


def _shipper(store: Target, journal: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POORTWACHTER_", "PROMETHEUS_"))}
    with out.open("ab") as sink:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "poortwachter.cli", "log", "ship", "--dsn", store.dsn,
                                 "--schema", store.schema, "--dir", str(journal), "--poll", "0.05", "--batch", "20",
                                 "--max-backoff", "1"],
                                env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _no_loss(store: Target, journal: Path, acknowledged: set[str], scratch: Path) -> int:
    logged = logged_ids(journal)
    assert acknowledged and acknowledged <= logged, "an answered decision is missing from the journal"
    assert wait_until(lambda: _stored(store)[0] == sorted(logged), 20), (
        f"the store did not catch up: {len(_stored(store)[0])} of {len(logged)}")
    ids, rows = _stored(store)
    assert rows == len(ids), f"{rows - len(ids)} decision(s) stored twice"
    assert acknowledged <= set(ids)
    _verifies(store, journal, scratch)
    return rows


def test_kill_9_of_the_shipper_and_the_service_under_load(tmp_path: Path, svc_bundles: Path, store: Target) -> None:
    journal = tmp_path / "log"
    out = tmp_path / "shipper.log"
    acknowledged: set[str] = set()
    kills = 0
    shipper = _shipper(store, journal, out)
    watch = {"POORTWACHTER_DECISION_LOG_SHIP": "sidecar"}  # the service watches the sidecar's backlog
    try:
        with serve(tmp_path, svc_bundles, log_dir=journal, env=watch) as server:
            load = Load(server.base, clients=4)
            with load.running():
                for _ in range(2):  # kill -9 the shipper while it ships, start it again
                    wait_answers(load, 50)
                    assert wait_until(lambda: _stored(store)[1] > 0, 10), out.read_text()
                    _kill(shipper)
                    kills += 1
                    wait_answers(load, 25)
                    shipper = _shipper(store, journal, out)
                wait_answers(load, 25)
                server.kill_all()  # and the service itself, mid-load
                kills += 1
            acknowledged |= load.acknowledged
        _kill(shipper)  # the shipper too, while the journal has a torn tail
        kills += 1
        shipper = _shipper(store, journal, out)
        with serve(tmp_path, svc_bundles, log_dir=journal, env=watch) as server:  # the restarted service
            load = Load(server.base, clients=4)
            with load.running():
                wait_answers(load, 50)
            acknowledged |= load.acknowledged
            rows = _no_loss(store, journal, acknowledged, tmp_path / "verify")
            assert wait_until(lambda: _readyz(server.base)[1]["log_shipping"]["pending_records"] == 0, 10)
            assert _readyz(server.base)[1]["log_shipping"]["role"] == "standby"  # the sidecar ships, not the service
    finally:
        _kill(shipper)
    assert kills == 4 and rows >= len(acknowledged)


def _readyz(base: str) -> tuple[int, dict[str, Any]]:
    r = httpx.get(base + "/readyz", timeout=5, verify=TLS)
    return r.status_code, r.json()


def _metric(base: str, name: str) -> float:
    total = 0.0
    for line in httpx.get(base + "/metrics", timeout=5, verify=TLS).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_the_store_away_during_load_then_back(tmp_path: Path, svc_bundles: Path, store: Target) -> None:
    proxy = Proxy()
    journal = tmp_path / "log"
    dsn = f"host=127.0.0.1 port={proxy.port} user=postgres dbname=test"
    env = {"POORTWACHTER_DECISION_LOG_SHIP": dsn, "POORTWACHTER_DECISION_LOG_SHIP_SCHEMA": store.schema,
           "POORTWACHTER_DECISION_LOG_KEY": LOG_KEY}
    seen: dict[str, Any] = {}
    try:
        with serve(tmp_path, svc_bundles, log_dir=journal, env=env) as server:
            load = Load(server.base, clients=4)
            with load.running():
                wait_answers(load, 40)
                assert wait_until(lambda: _readyz(server.base)[1]["log_shipping"]["connected"], 10)
                proxy.down()  # PostgreSQL unreachable: connections cut, new ones refused
                down_at = time.monotonic()
                wait_answers(load, 80)

                def lagging() -> bool:
                    code, body = _readyz(server.base)
                    shipping = body["log_shipping"]
                    seen.update(code=code, **shipping)
                    return code == 200 and shipping["pending_records"] > 0 and shipping["last_error"] is not None

                assert wait_until(lagging, 10), seen
                assert _metric(server.base, "poortwachter_log_ship_pending_records") > 0
                assert _metric(server.base, "poortwachter_log_ship_oldest_pending_age_seconds") > 0
                assert _metric(server.base, "poortwachter_log_ship_errors_total") > 0
                before = _metric(server.base, "poortwachter_log_shipped_records_total")
                wait_until(lambda: time.monotonic() - down_at > 3, 5)
                refused_while_down = load.statuses.get("503", 0)
                proxy.up()
                assert wait_until(lambda: _readyz(server.base)[1]["log_shipping"]["pending_records"] == 0, 20), (
                    _readyz(server.base))
                assert _metric(server.base, "poortwachter_log_shipped_records_total") > before
                wait_answers(load, 40)
            rows = _no_loss(store, journal, load.acknowledged, tmp_path / "verify")
    finally:
        proxy.close()
    assert refused_while_down == 0, "decisions were refused while the backlog was far below the journal limit"
    assert rows >= len(load.acknowledged)
    assert seen["role"] == "shipping" and seen["connected"] is False


def test_beyond_the_journal_limit_decisions_are_refused_until_shipping_catches_up(
        tmp_path: Path, svc_bundles: Path, store: Target) -> None:
    proxy = Proxy()
    proxy.down()  # the store is away from the start
    dsn = f"host=127.0.0.1 port={proxy.port} user=postgres dbname=test"
    env = {"POORTWACHTER_DECISION_LOG_SHIP": dsn, "POORTWACHTER_DECISION_LOG_SHIP_SCHEMA": store.schema,
           "POORTWACHTER_DECISION_LOG_JOURNAL_MAX_BYTES": str(1024 * 1024)}
    journal = tmp_path / "log"
    write_journal(journal, (f"earlier-{n}" for n in range(2000)))  # ~0.8 MB not yet shipped
    backlog = sum(p.stat().st_size for p in journal.glob("decisions-*"))
    assert 600_000 < backlog < 1024 * 1024, backlog
    try:
        with serve(tmp_path, svc_bundles, log_dir=journal, env=env) as server:
            code, body = _readyz(server.base)
            assert code == 200 and body["log_shipping"]["pending_bytes"] > 600_000, body  # lagging, still answering
            load = Load(server.base, clients=4)
            with load.running():
                assert wait_until(lambda: load.statuses.get("503", 0) > 0, 15), load.statuses
                code, body = _readyz(server.base)
                assert code == 503 and "refusing decisions" in body["detail"], body
                proxy.up()
                assert wait_until(lambda: _readyz(server.base)[0] == 200, 20), _readyz(server.base)
                answered = load.answered()
                wait_answers(load, 40)
                assert load.answered() > answered
            _no_loss(store, server.log_dir, load.acknowledged, tmp_path / "verify")
    finally:
        proxy.close()


def _lock_holder(journal: Path) -> int | None:
    """The pid holding the journal's shipping lock (from /proc/locks)."""
    inode = (journal / ".ship.lock").stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and parts[-3].rsplit(":", 1)[-1] == str(inode):
            return int(parts[-4])
    return None


def test_kill_9_of_the_shipping_worker_hands_shipping_to_another(tmp_path: Path, svc_bundles: Path,
                                                                store: Target) -> None:
    journal = tmp_path / "log"
    env = {"POORTWACHTER_DECISION_LOG_SHIP": store.dsn, "POORTWACHTER_DECISION_LOG_SHIP_SCHEMA": store.schema}
    with serve(tmp_path, svc_bundles, log_dir=journal, workers=2, env=env) as server:
        assert wait_until(lambda: len(server.worker_pids()) == 2 and _lock_holder(journal) is not None, 20)
        load = Load(server.base, clients=4)
        with load.running():
            wait_answers(load, 40)
            victim = _lock_holder(journal)
            assert victim in server.worker_pids()
            os.kill(victim, signal.SIGKILL)
            assert wait_until(lambda: _lock_holder(journal) not in (None, victim), 20), (
                f"nobody took over shipping: {_lock_holder(journal)}\n{server.text()[-3000:]}")
            wait_answers(load, 40)
        _no_loss(store, journal, load.acknowledged, tmp_path / "verify")
