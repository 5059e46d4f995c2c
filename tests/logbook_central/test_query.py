"""``poortwachter log --dsn …``: the same answers, formats and "what was searched" report as the folders."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from journal_util import KEY, write_journal

from poortwachter.cli import main
from poortwachter.logbook.central.db import Target, connect
from poortwachter.logbook.central.ship import Shipper, ShipperConfig


def _ship(journal: Path, store: Target) -> None:
    shipper = Shipper(ShipperConfig(journal, store))
    try:
        assert shipper.ship_pending() is not None
    finally:
        shipper.close()


@pytest.fixture
def shipped(tmp_path: Path, store: Target) -> tuple[Path, Target, Path]:
    journal = tmp_path / "journal"
    write_journal(journal, (f"a-{n}" for n in range(70)), time="2026-11-02T10:00:00Z")
    write_journal(journal, (f"b-{n}" for n in range(70)), time="2026-11-20T10:00:00Z")
    _ship(journal, store)
    key = tmp_path / "key"
    key.write_bytes(KEY)
    return journal, store, key


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["log", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _store(store: Target) -> list[str]:
    return ["--dsn", store.dsn, "--schema", store.schema]


def test_the_parents_question_from_the_store_equals_the_folders(
        shipped: tuple[Path, Target, Path], capsys: pytest.CaptureFixture[str]) -> None:
    journal, store, key = shipped
    code, out, err = _run(capsys, *_store(store), "--client", "c-3", "--key-file", str(key), "--format", "json")
    assert code == 0
    central = orjson.loads(out)
    code, out, _ = _run(capsys, "--dir", str(journal), "--client", "c-3", "--key-file", str(key), "--format", "json")
    local = orjson.loads(out)
    ids = [r["decision_id"] for r in central["decisions"]]
    assert ids == [r["decision_id"] for r in local["decisions"]] and len(ids) == 20
    searched = central["searched"]
    assert searched["stores"][0]["kind"] == "postgresql" and "password" not in searched["stores"][0]["location"]
    assert searched["records"] == 140 and searched["outcome"] == "found"
    assert "20 decision(s) found in 140 record(s) from 2026-11-02T10:00:00Z to 2026-11-20T10:00:00Z" in err


def test_no_access_found_says_how_many_records_from_when_to_when(
        shipped: tuple[Path, Target, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, store, key = shipped
    code, out, err = _run(capsys, *_store(store), "--client", "nobody", "--key-file", str(key))
    assert code == 1
    said = "no access found in 140 record(s) from 2026-11-02T10:00:00Z to 2026-11-20T10:00:00Z"
    assert said in err and said in out and "searched postgresql host=127.0.0.1" in out


def test_the_window_is_counted_like_the_folders_count_it(
        shipped: tuple[Path, Target, Path], capsys: pytest.CaptureFixture[str]) -> None:
    journal, store, key = shipped
    window = ["--since", "2026-11-10", "--until", "2026-12-01", "--subject", "p-1", "--key-file", str(key),
              "--format", "json"]
    _, out, _ = _run(capsys, *_store(store), *window)
    central = orjson.loads(out)
    _, out, _ = _run(capsys, "--dir", str(journal), *window)
    local = orjson.loads(out)
    assert central["searched"]["in_window"] == local["searched"]["in_window"] == 70
    assert [r["decision_id"] for r in central["decisions"]] == [r["decision_id"] for r in local["decisions"]]


def test_an_empty_store_is_nothing_to_search_not_nobody_looked(
        store: Target, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, *_store(store), "--client-pseudonym", "x")
    assert code == 3 and "nothing to search" in err and "NOT an answer" in err


def test_an_unreachable_store_is_nothing_to_search(store: Target, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--dsn", "host=127.0.0.1 port=1 user=postgres dbname=test", "--schema",
                        store.schema, "--client-pseudonym", "x")
    assert code == 3 and "nothing to search" in err and "cannot connect" in err


def test_verify_from_the_cli(shipped: tuple[Path, Target, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, store, _ = shipped
    code, out, err = _run(capsys, *_store(store), "--verify")
    assert code == 0 and "the store verifies" in err and "BROKEN" not in out
    with connect(store) as conn:
        conn.execute("DELETE FROM decisions WHERE decision_id = 'b-5'")
        conn.commit()
    code, out, err = _run(capsys, *_store(store), "--verify")
    assert code == 1 and "missing from the store" in out and "does NOT verify" in err


def test_migrate_and_retention_commands(pg_dsn: str, pg_schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = ["--dsn", pg_dsn, "--schema", pg_schema]
    code, out, _ = _run(capsys, "migrate", *store)
    assert code == 0 and "applied migration 1" in out and "applied migration 2" in out
    code, out, _ = _run(capsys, "migrate", *store)
    assert code == 0 and "up to date" in out
    code, _, err = _run(capsys, "retention", *store, "--keep-years", "4")
    assert code == 2 and "at least 5 years" in err
    code, out, _ = _run(capsys, "retention", *store, "--keep-years", "10", "--dry-run")
    assert code == 0 and "nothing older than 10 years" in out


def test_dsn_and_dir_together_are_refused_not_half_searched(store: Target, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, *_store(store), "--dir", str(tmp_path), "--client-pseudonym", "x")
    assert code == 2 and "not both" in err
