"""Queries that never lie (issue 12 item 3) and pseudonyms for everyone the log names (item 5).

A false "nobody looked" is the worst answer: several ``--dir`` all count, a volume root is searched
recursively, an empty folder hides nothing, and "nothing to search" is its own answer (exit 3)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from poortwachter.cli import main
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.query import Query, log_files, search_report
from poortwachter.logbook.writer import LogWriter, WriterConfig
from poortwachter.service.app import create_app
from poortwachter.service.settings import Settings

KEY = b"query-test-key-0123456789abcdef!"
OLD_KEY = b"the-key-used-before-0123456789ab"
P = Pseudonymiser(KEY)


def write(folder: Path, rows: list[tuple[str, str]], key: bytes = KEY) -> None:
    """Records (decision id, client) in ``folder``, closed."""
    p = Pseudonymiser(key)
    w = LogWriter(WriterConfig(folder), p, key_id=p.key_id).start()
    for decision_id, client in rows:
        assert w.wait(w.submit({"decision_id": decision_id, "client": client, "action": "read", "decision": "allow",
                                "subject": {"id": "prof-7", "type": "professional", "role": "jeugdarts"}}), timeout=5)
    assert w.close()


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    rc = main(["log", *args, "--key-file", str(KEY_FILE), "--format", "json"])
    out = capsys.readouterr()
    return rc, (orjson.loads(out.out) if out.out.strip() else {}), out.err


KEY_FILE = Path()


@pytest.fixture(autouse=True)
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    global KEY_FILE
    KEY_FILE = tmp_path / "key"
    KEY_FILE.write_bytes(KEY)
    monkeypatch.delenv("POORTWACHTER_DECISION_LOG_KEY", raising=False)
    monkeypatch.delenv("POORTWACHTER_DECISION_LOG", raising=False)


def ids(answer: dict[str, Any]) -> list[str]:
    return [r["decision_id"] for r in answer["decisions"]]


def test_every_dir_counts_not_only_the_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "pod-a", [("a-1", "c-9"), ("a-2", "c-1")])
    write(tmp_path / "pod-b", [("b-1", "c-9")])
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "pod-a"), "--dir", str(tmp_path / "pod-b"), "--client", "c-9")
    assert rc == 0 and sorted(ids(answer)) == ["a-1", "b-1"]
    assert answer["searched"]["records"] == 3 and len(answer["searched"]["stores"]) == 2


def test_a_volume_root_is_searched_recursively(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "volume" / "decisions" / "pod-a", [("a-1", "c-9")])
    write(tmp_path / "volume" / "decisions" / "pod-b", [("b-1", "c-9"), ("b-2", "c-2")])
    rc, answer, err = ask(capsys, "--dir", str(tmp_path / "volume"), "--client", "c-9")
    assert rc == 0 and sorted(ids(answer)) == ["a-1", "b-1"]
    assert answer["searched"]["files"] == 2 and "2 decision(s) found in 3 record(s)" in err


def test_an_empty_folder_after_a_full_one_hides_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "full", [("f-1", "c-9")])
    (tmp_path / "empty").mkdir()
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "full"), "--dir", str(tmp_path / "empty"), "--client", "c-9")
    assert rc == 0 and ids(answer) == ["f-1"]
    assert [s["records"] for s in answer["searched"]["stores"]] == [1, 0]


def test_no_access_found_says_in_how_many_records_from_when_to_when(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "log", [("d-1", "c-1"), ("d-2", "c-2")])
    rc, answer, err = ask(capsys, "--dir", str(tmp_path / "log"), "--client", "c-9")
    assert rc == 1 and answer["decisions"] == [] and answer["searched"]["outcome"] == "none-found"
    assert err.startswith("no access found in 2 record(s) from 20") and " to 20" in err
    main(["log", "--dir", str(tmp_path / "log"), "--client", "c-9", "--key-file", str(KEY_FILE)])
    text = capsys.readouterr().out
    assert "no access found in 2 record(s)" in text and f"searched folder {tmp_path / 'log'}, 1 file(s)" in text


@pytest.mark.parametrize("layout", ["missing", "empty", "only empty subfolders"])
def test_nothing_to_search_is_never_a_silent_zero(tmp_path: Path, layout: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "log"
    if layout != "missing":
        folder.mkdir()
    if layout == "only empty subfolders":
        (folder / "pod-a").mkdir()
    rc, answer, err = ask(capsys, "--dir", str(folder), "--client", "c-9")
    assert rc == 3 and answer["searched"]["outcome"] == "nothing-to-search"
    assert err.startswith("nothing to search") and "NOT an answer that nobody had access" in err
    if layout == "missing":
        assert "does not exist" in err
    assert main(["log", "--dir", str(folder), "--verify"]) == 3


def test_a_missing_folder_beside_a_full_one_is_not_a_no(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "full", [("f-1", "c-1")])
    rc, _, err = ask(capsys, "--dir", str(tmp_path / "full"), "--dir", str(tmp_path / "typo"), "--client", "c-9")
    assert rc == 3 and "typo" in err and "does not exist" in err  # not "no access found": a store was not read


def test_the_report_is_one_type_for_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "log", [("d-1", "c-9"), ("d-2", "c-9")])
    report = search_report([tmp_path / "log"], Query(client=lambda logged: P.matches("c-9", logged)))
    assert report.outcome == "found" and len(report.matches) == 2 and report.records == 2 and report.files == 1
    assert report.first is not None and report.last is not None and report.first <= report.last
    for fmt in ("text", "summary"):
        assert main(["log", "--dir", str(tmp_path / "log"), "--client", "c-9", "--key-file", str(KEY_FILE),
                     "--format", fmt]) == 0
        assert report.statement() in capsys.readouterr().out


def test_a_lookup_by_real_id_works_with_old_keys_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "log" / "2025", [("old-1", "c-9")], key=OLD_KEY)
    write(tmp_path / "log" / "2026", [("new-1", "c-9")])
    old = tmp_path / "old-key"
    old.write_bytes(OLD_KEY)
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "log"), "--client", "c-9")
    assert rc == 0 and ids(answer) == ["new-1"]  # the current key alone finds only its own records ...
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "log"), "--client", "c-9", "--key-file", str(old))
    assert rc == 0 and sorted(ids(answer)) == ["new-1", "old-1"]  # ... with the old one too, both
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "log"), "--subject", "prof-7", "--key-file", str(old))
    assert rc == 0 and sorted(ids(answer)) == ["new-1", "old-1"]


# ---------------------------------------------------------------------------------------------- pseudonyms

REAL = {"subject": "p-moeder-Jansen-1984", "client": "c-kind-Jansen-2016", "dossier": "dossier-4711",
        "by": "prof-jeugdarts-de-Vries"}


@pytest.fixture
def service(tmp_path: Path, mini_bundles: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", KEY.decode())
    bundles = tmp_path / "bundles"
    shutil.copytree(mini_bundles, bundles)
    settings = Settings(trust_dev_key=True, bundles=bundles, dossier_type_bundles={"jgz": "mini"}, max_clock_skew=0, reload="off",
                        decision_log=str(tmp_path / "log"), admin_token="operations-admin-token-0123456789")
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_no_real_subject_client_or_dossier_id_reaches_the_journal(service: TestClient, parent: Any, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    request = parent(1, client=REAL["client"], subject=REAL["subject"])
    request["resource"]["id"] = f"{REAL['dossier']}/groei/1"
    request["context"]["attestations"] = [{"kind": "emergency", "by": REAL["by"]}]
    assert service.post("/access/v1/evaluation", json=request).status_code == 200
    broken = {"subject": {"id": REAL["subject"], "type": "person"},
              "resource": {"id": f"{REAL['dossier']}/x", "properties": {"client": {"id": REAL["client"]}}}}
    assert service.post("/access/v1/evaluations", json={"evaluations": [broken]}).status_code == 200  # undecided
    journal = b"".join(f.read_bytes() for f in log_files(tmp_path / "log"))
    journal += b"".join(f.read_bytes() for f in (tmp_path / "log").glob("*.head"))
    assert journal.count(b'"decision_id"') >= 2
    for real in REAL.values():
        assert real.encode() not in journal, f"{real} is in the journal in the clear"
    assert KEY not in journal  # nor the key
    assert P(REAL["dossier"]).encode() + b"/groei/1" in journal  # which item of the dossier stays visible
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "log"), "--subject", REAL["subject"])
    assert rc == 0 and len(answer["decisions"]) == 2  # the lookup by the real id works
    rc, answer, _ = ask(capsys, "--dir", str(tmp_path / "log"), "--client", REAL["client"])
    assert rc == 0 and len(answer["decisions"]) == 2


def test_pseudonymising_subjects_and_items_can_be_switched_off(tmp_path: Path, mini_bundles: Path, parent: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", KEY.decode())
    settings = Settings(trust_dev_key=True, bundles=mini_bundles, dossier_type_bundles={"jgz": "mini"}, max_clock_skew=0, reload="off",
                        decision_log=str(tmp_path / "log"), decision_log_pseudonymise_subject=False,
                        decision_log_pseudonymise_item=False)
    with TestClient(create_app(settings)) as c:
        assert c.post("/access/v1/evaluation", json=parent(1, subject="p-open", client="c-hidden")).status_code == 200
    journal = b"".join(f.read_bytes() for f in log_files(tmp_path / "log"))
    assert b'"p-open"' in journal and b'"d-1/groei/1"' in journal and b"c-hidden" not in journal
