"""The shipper: everything once, resumable, idempotent, never past a torn line, one shipper per journal."""

from __future__ import annotations

import gzip
import shutil
import threading
from pathlib import Path

import pytest
from journal_util import write_journal
from prometheus_client import REGISTRY

from poortwachter.logbook.central.db import Target, connect
from poortwachter.logbook.central.metrics import PrometheusObserver
from poortwachter.logbook.central.ship import PositionConflict, Shipper, ShipperConfig
from poortwachter.logbook.query import log_files


def _ids(store: Target) -> list[str]:
    with connect(store) as conn:
        return [str(r[0]) for r in conn.execute("SELECT decision_id FROM decisions ORDER BY decision_id")]


def _ship(directory: Path, store: Target, **kw: object) -> Shipper:
    shipper = Shipper(ShipperConfig(directory, store, **kw))  # type: ignore[arg-type]
    try:
        assert shipper.ship_pending() is not None
    finally:
        shipper.close()
    return shipper


def test_every_record_arrives_once_and_a_second_pass_ships_nothing(tmp_path: Path, store: Target) -> None:
    ids = write_journal(tmp_path, (f"d-{n}" for n in range(3000)))
    first = _ship(tmp_path, store, batch_lines=500)
    assert first.shipped_total == 3000
    assert _ids(store) == sorted(ids)
    again = _ship(tmp_path, store)
    assert again.shipped_total == 0
    with connect(store) as conn:
        row = conn.execute("SELECT lines, records, bytes FROM segments").fetchone()
        assert row is not None and row[0] == _lines(tmp_path) and row[1] == 3000  # open and checkpoint lines too
        assert row[2] == log_files(tmp_path)[0].stat().st_size
        events = [e for (e,) in conn.execute("SELECT event FROM journal_events ORDER BY line_no").fetchall()]
        assert events[0] == "open" and set(events[1:]) == {"checkpoint"} and len(events) == row[0] - 3000


def test_a_lost_position_reships_without_doubling(tmp_path: Path, store: Target) -> None:
    ids = write_journal(tmp_path, (f"d-{n}" for n in range(500)))
    _ship(tmp_path, store)
    with connect(store) as conn:
        conn.execute("UPDATE segments SET lines = 0, bytes = 0")
        conn.commit()
    again = _ship(tmp_path, store, batch_lines=64)
    assert again.shipped_total == 0  # every row was there already: ON CONFLICT DO NOTHING
    assert _ids(store) == sorted(ids)


def test_new_files_and_new_lines_ship_from_where_it_stopped(tmp_path: Path, store: Target) -> None:
    first = write_journal(tmp_path, (f"a-{n}" for n in range(200)))
    shipper = Shipper(ShipperConfig(tmp_path, store))
    try:
        shipper.ship_pending()
        later = write_journal(tmp_path, (f"b-{n}" for n in range(300)))
        status = shipper.ship_pending()
        assert status is not None and status.pending_records == 0
        assert shipper.shipped_total == 500
    finally:
        shipper.close()
    assert _ids(store) == sorted(first + later)


def test_a_torn_last_line_is_never_shipped(tmp_path: Path, store: Target) -> None:
    write_journal(tmp_path, (f"d-{n}" for n in range(10)))
    path = log_files(tmp_path)[0]
    with path.open("ab") as fh:
        fh.write(b'{"v":1,"decision_id":"torn","time":"2026-12-03T10:00:00Z"')  # killed mid-write
    shipper = _ship(tmp_path, store)
    assert shipper.shipped_total == 10 and "torn" not in _ids(store)


def test_undecodable_lines_are_kept_as_events_and_shipping_goes_on(tmp_path: Path, store: Target) -> None:
    write_journal(tmp_path, (f"d-{n}" for n in range(3)))
    path = log_files(tmp_path)[0]
    with path.open("ab") as fh:
        fh.write(b'\xff\xfe not utf-8 \x00\n{"v":1,"decision_id":"after","time":"2026-12-03T10:00:00Z"}\n')
    _ship(tmp_path, store)
    assert "after" in _ids(store)
    with connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM journal_events WHERE event = 'undecodable'").fetchone() == (1,)


def test_compressed_segments_ship_and_a_compressed_shipped_one_is_not_reshipped(tmp_path: Path, store: Target) -> None:
    write_journal(tmp_path, (f"a-{n}" for n in range(100)))
    _ship(tmp_path, store)
    for path in log_files(tmp_path):
        with path.open("rb") as src, gzip.open(path.with_name(path.name + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        path.unlink()
    other = tmp_path / "other"
    write_journal(other, (f"b-{n}" for n in range(50)))
    for path in log_files(other):
        with path.open("rb") as src, gzip.open(tmp_path / (path.name + ".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    shipper = _ship(tmp_path, store)
    assert shipper.shipped_total == 50
    assert len(_ids(store)) == 150


def test_one_shipper_per_journal(tmp_path: Path, store: Target) -> None:
    write_journal(tmp_path, (f"d-{n}" for n in range(10)))
    holder = Shipper(ShipperConfig(tmp_path, store))
    try:
        assert holder.ship_pending() is not None
        other = Shipper(ShipperConfig(tmp_path, store))
        assert other.ship_pending() is None  # the lock is held
        other.close()
    finally:
        holder.close()
    taker = Shipper(ShipperConfig(tmp_path, store))
    assert taker.ship_pending() is not None  # free again once the holder closed
    taker.close()


def test_a_position_moved_by_someone_else_is_a_conflict_not_a_double(tmp_path: Path, store: Target) -> None:
    write_journal(tmp_path, (f"d-{n}" for n in range(100)))
    shipper = Shipper(ShipperConfig(tmp_path, store, batch_lines=10, round_lines=10))
    try:
        assert shipper._ship_round(threading.Event())  # one batch shipped, more waiting
        with connect(store) as conn:
            conn.execute("UPDATE segments SET lines = lines + 1")
            conn.commit()
        with pytest.raises(PositionConflict):
            shipper._ship_round(threading.Event())
        shipper._disconnect()  # what run() does after a failure: the store's position is read again
        with connect(store) as conn:
            conn.execute("UPDATE segments SET lines = lines - 1")
            conn.commit()
        status = shipper.ship_pending()
        assert status is not None and status.pending_records == 0
    finally:
        shipper.close()
    assert len(_ids(store)) == 100


def _lines(folder: Path) -> int:
    return sum(len(f.read_bytes().splitlines()) for f in log_files(folder))


def _metric(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


def test_an_unreachable_store_is_counted_and_the_backlog_reported(tmp_path: Path, store: Target) -> None:
    write_journal(tmp_path, (f"d-{n}" for n in range(40)))
    dead = Target("host=127.0.0.1 port=1 user=postgres dbname=test connect_timeout=1", store.schema,
                  connect_timeout=1)
    before = _metric("poortwachter_log_ship_errors_total", cause="connect")
    shipper = Shipper(ShipperConfig(tmp_path, dead, poll_seconds=0.05, max_backoff=0.1), PrometheusObserver())
    stop = threading.Event()
    thread = threading.Thread(target=shipper.run, args=(stop,))
    thread.start()
    try:
        deadline = threading.Event()
        for _ in range(100):
            if _metric("poortwachter_log_ship_errors_total", cause="connect") >= before + 2:
                break
            deadline.wait(0.05)
        status = shipper.status()
        lines = _lines(tmp_path)  # the 40 records, the open line and the checkpoints
        assert status.pending_records == lines and status.pending_bytes > 0
        assert status.oldest_pending_age is not None and status.oldest_pending_age >= 0
        assert status.last_error is not None and status.last_error.startswith("connect")
        assert f"{lines} record(s)" in status.detail()
        assert _metric("poortwachter_log_ship_pending_records") == lines
        assert _metric("poortwachter_log_ship_errors_total", cause="connect") >= before + 2
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_log_ship_ships_continuously_and_stops_cleanly_on_sigterm(tmp_path: Path, store: Target) -> None:
    import os
    import signal
    import subprocess
    import sys

    from support import wait_until

    write_journal(tmp_path, (f"a-{n}" for n in range(50)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("POORTWACHTER_")}
    env["POORTWACHTER_DECISION_LOG_SHIP"] = store.dsn  # the DSN from the environment, as in a container
    proc = subprocess.Popen([sys.executable, "-m", "poortwachter.cli", "log", "ship", "--schema", store.schema,
                             "--dir", str(tmp_path), "--poll", "0.05"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: len(_ids(store)) == 50, 20)
        write_journal(tmp_path, (f"b-{n}" for n in range(30)))  # a new file while it runs
        assert wait_until(lambda: len(_ids(store)) == 80, 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert proc.stdout is not None
        output = proc.stdout.read().decode()
        proc.stdout.close()
    assert "shipping" in output and (tmp_path / ".ship-position.json").is_file()
