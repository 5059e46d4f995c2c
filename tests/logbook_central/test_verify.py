"""``poortwachter log --dsn … --verify``: a store as shipped verifies; each kind of tampering is named.

The table of what --verify catches in the store (issue 12's closing note) is these cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from journal_util import write_journal

from poortwachter.logbook.central import schema
from poortwachter.logbook.central.db import Target, connect
from poortwachter.logbook.central.ship import Shipper, ShipperConfig
from poortwachter.logbook.central.verify import rebuild
from poortwachter.logbook.query import verify as verify_folder

Conn = psycopg.Connection[tuple[object, ...]]


def _problems(store: Target, tmp: Path) -> list[str]:
    with connect(store) as conn:
        report = rebuild(conn, tmp)
    found = list(report.problems)
    for folder in report.folders:
        for file in verify_folder(folder):
            found += [f"{file.path.name}: {p}" for p in file.problems]
    return found


@pytest.fixture
def shipped(tmp_path: Path, store: Target) -> Target:
    write_journal(tmp_path / "journal", (f"d-{n}" for n in range(60)))
    shipper = Shipper(ShipperConfig(tmp_path / "journal", store))
    try:
        shipper.ship_pending()
    finally:
        shipper.close()
    return store


def test_a_store_as_shipped_verifies(shipped: Target, tmp_path: Path) -> None:
    assert _problems(shipped, tmp_path / "v") == []


def _delete(conn: Conn) -> None:
    conn.execute("DELETE FROM decisions WHERE decision_id = 'd-20'")


def _insert(conn: Conn) -> None:
    conn.execute("""INSERT INTO decisions (time, decision_id, client, subject_id, segment_id, line_no, raw)
                    SELECT time + interval '1 second', 'forged', client, subject_id, segment_id, line_no, raw
                    FROM decisions WHERE decision_id = 'd-30'""")


def _alter_line(conn: Conn) -> None:
    conn.execute("""UPDATE decisions SET raw = replace(raw, '"decision":"allow"', '"decision":"deny"')
                    WHERE decision_id = 'd-31'""")


def _alter_column(conn: Conn) -> None:
    conn.execute("UPDATE decisions SET client = 'hmac-sha256:other' WHERE decision_id = 'd-32'")


def _reorder(conn: Conn) -> None:
    conn.execute("""UPDATE decisions SET line_no = CASE decision_id WHEN 'd-40' THEN line_no + 1 ELSE line_no - 1 END
                    WHERE decision_id IN ('d-40', 'd-41')""")


def _cut_tail(conn: Conn) -> None:  # d-58, d-59 and every checkpoint line after them
    conn.execute("DELETE FROM journal_events WHERE line_no > (SELECT line_no FROM decisions WHERE decision_id = 'd-58')")
    conn.execute("DELETE FROM decisions WHERE decision_id IN ('d-58', 'd-59')")


def _delete_open_line(conn: Conn) -> None:
    conn.execute("DELETE FROM journal_events WHERE event = 'open'")


CASES: dict[str, tuple[Callable[[Conn], None], str]] = {
    "a record deleted": (_delete, "missing from the store (deleted rows)"),
    "a record inserted (same place, new id)": (_insert, "stored twice"),
    "a record's line altered": (_alter_line, "hash chain broken"),
    "an indexed column altered (client)": (_alter_column, "column(s) client differ"),
    "two records swapped": (_reorder, "hash chain broken"),
    "the tail cut off": (_cut_tail, "the tail was removed"),
    "the first line deleted": (_delete_open_line, "line 1 missing from the store"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_in_the_store_is_named(shipped: Target, tmp_path: Path, case: str) -> None:
    tamper, expected = CASES[case]
    with connect(shipped) as conn:
        tamper(conn)
        conn.commit()
    problems = _problems(shipped, tmp_path / "v")
    assert any(expected in p for p in problems), problems


def test_lines_removed_by_retention_are_a_note_not_a_problem(tmp_path: Path, store: Target) -> None:
    from datetime import UTC, datetime

    write_journal(tmp_path / "j", (f"old-{n}" for n in range(5)), time="2014-11-20T10:00:00Z")
    shipper = Shipper(ShipperConfig(tmp_path / "j", store))
    try:
        shipper.ship_pending()
    finally:
        shipper.close()
    with connect(store) as conn:  # the open and checkpoint lines carry today's time, the records 2014's
        done = schema.retention(conn, store.schema, 10, now=datetime(2026, 12, 3, tzinfo=UTC))
        assert any("decisions_y2014" in d for d in done)
        report = rebuild(conn, tmp_path / "v")
    assert report.problems == []
    assert any("removed by retention" in n for n in report.notes), report.notes
    with connect(store) as conn:  # and once the rest is old enough too, the whole segment
        schema.retention(conn, store.schema, 10, now=datetime(2037, 1, 3, tzinfo=UTC))
        report = rebuild(conn, tmp_path / "v2")
    assert report.problems == [] and report.lines == 0
    assert any("removed by retention" in n for n in report.notes), report.notes


def _recompute(conn: Conn) -> None:
    """What someone with write access to the database would do: change a record, then recompute every
    later line's ``prev`` and the segment's recorded last hash, so chain and position agree again."""
    import hashlib

    import orjson

    from poortwachter.logbook.checkpoint import leaf

    sid = conn.execute("SELECT segment_id FROM decisions WHERE decision_id = 'd-31'").fetchone()[0]
    rows = conn.execute("""SELECT 'd', line_no, raw FROM decisions WHERE segment_id = %(s)s UNION ALL
                           SELECT 'e', line_no, raw FROM journal_events WHERE segment_id = %(s)s ORDER BY 2""",
                        {"s": sid}).fetchall()
    prev = None
    changed = False
    leaves: list[str] = []
    for table, line_no, raw in rows:
        record = orjson.loads(raw)
        if record.get("decision_id") == "d-31":
            record["decision"] = "deny" if record["decision"] == "allow" else "allow"
            changed = True
        if changed and "prev" in record:
            record["prev"] = prev
        if changed and record.get("event") == "checkpoint":  # its head and leaves too: all but the signature
            record["head"] = prev
            record["leaves"] = leaves
        new = orjson.dumps(record).decode()
        leaves = [] if record.get("event") == "checkpoint" else [*leaves, leaf(new.encode() + b"\n")]
        if new != raw:
            target = "decisions" if table == "d" else "journal_events"
            conn.execute(f"UPDATE {target} SET raw = %s WHERE segment_id = %s AND line_no = %s", (new, sid, line_no))
        prev = hashlib.sha256(new.encode() + b"\n").hexdigest()
    conn.execute("UPDATE segments SET last_hash = %s WHERE segment_id = %s", (prev, sid))


def test_a_recomputed_chain_is_caught_only_by_the_signed_checkpoints(tmp_path: Path, store: Target) -> None:
    from poortwachter.logbook.checkpoint import generate, load_public_keys

    signer = generate(tmp_path / "keys" / "log.key")
    write_journal(tmp_path / "journal", (f"d-{n}" for n in range(60)), signer=signer)
    shipper = Shipper(ShipperConfig(tmp_path / "journal", store))
    try:
        shipper.ship_pending()
    finally:
        shipper.close()
    keys = load_public_keys([tmp_path / "keys"])
    with connect(store) as conn:
        _recompute(conn)
        conn.commit()
        report = rebuild(conn, tmp_path / "v")
    unkeyed = list(report.problems) + [p for f in verify_folder(report.folders) for p in f.problems]
    assert unkeyed == []  # chain and position agree: without the key nothing shows
    keyed = [f"{f.path.name}: {p}" for f in verify_folder(report.folders, keys) for p in f.problems]
    assert keyed and all("signature invalid" in p for p in keyed), keyed  # the checkpoints covering the edit
