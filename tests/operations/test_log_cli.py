"""`poortwachter log`: the parent's question answered from the files, and the hash-chain check."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from poortwachter.cli import main
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.query import log_files
from poortwachter.logbook.writer import LogWriter, WriterConfig

KEY = b"a-test-key-of-sufficient-length!"
P = Pseudonymiser(KEY)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    p = Pseudonymiser(KEY)
    w = LogWriter(WriterConfig(tmp_path / "log"), p, key_id=p.key_id).start()
    rows = [("prof-7", "professional", "jeugdarts", "read", "c-9", "allow"),
            ("p-1", "person", "ouder", "read", "c-9", "allow"),
            ("prof-8", "professional", "doktersassistent", "read", "c-9", "deny"),
            ("prof-7", "professional", "jeugdarts", "write", "c-10", "allow")]
    for i, (sid, stype, role, action, client, decision) in enumerate(rows):
        w.wait(w.submit({"decision_id": f"d-{i}", "subject": {"id": sid, "type": stype, "role": role},
                         "action": action, "client": client, "decision": decision,
                         "item": {"category": "groei"}, "purpose": "care"}), timeout=5)
    w.close()
    (tmp_path / "key").write_bytes(KEY)
    return tmp_path


def test_who_has_seen_my_childs_dossier(logdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["log", "--dir", str(logdir / "log"), "--client", "c-9", "--key-file", str(logdir / "key"),
               "--decision", "allow", "--format", "json"])
    out = orjson.loads(capsys.readouterr().out)
    assert rc == 0 and [r["subject"]["id"] for r in out["decisions"]] == [P("prof-7"), P("p-1")]
    assert out["searched"]["records"] == 4 and out["searched"]["outcome"] == "found"
    rc = main(["log", "--dir", str(logdir / "log"), "--client", "c-9", "--key-file", str(logdir / "key"),
               "--format", "summary"])
    text = capsys.readouterr().out
    assert rc == 0 and f"{P('prof-8')} (professional/doktersassistent)" in text and "read:deny" in text
    assert "3 decision(s) found in 4 record(s)" in text


def test_client_search_needs_the_key(logdir: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POORTWACHTER_DECISION_LOG_KEY", raising=False)
    assert main(["log", "--dir", str(logdir / "log"), "--client", "c-9"]) == 2
    assert "key" in capsys.readouterr().err
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", KEY.decode())
    assert main(["log", "--dir", str(logdir / "log"), "--client", "c-10"]) == 0
    assert "1 decision(s)" in capsys.readouterr().err


def test_subject_and_time_filters(logdir: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POORTWACHTER_DECISION_LOG_KEY", raising=False)
    key = ["--key-file", str(logdir / "key")]
    assert main(["log", "--dir", str(logdir / "log"), "--subject", "prof-7", *key]) == 0
    assert "2 decision(s)" in capsys.readouterr().err
    assert main(["log", "--dir", str(logdir / "log"), "--subject", "prof-7"]) == 2  # the key is needed
    assert "--subject needs the pseudonymisation key" in capsys.readouterr().err
    assert main(["log", "--dir", str(logdir / "log"), "--subject-pseudonym", P("prof-7")]) == 0
    assert main(["log", "--dir", str(logdir / "log"), "--since", "2999-01-01"]) == 1
    assert "no access found in 4 record(s)" in capsys.readouterr().err
    assert main(["log", "--dir", str(logdir / "log"), "--until", "2000-01-01T00:00:00"]) == 1
    assert main(["log", "--dir", str(logdir / "log"), "--since", "yesterday"]) == 2


def test_verify(logdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "--dir", str(logdir / "log"), "--verify"]) == 0
    assert ": ok, 4 records, closed" in capsys.readouterr().out
    (f,) = log_files(logdir / "log")
    f.write_bytes(f.read_bytes().replace(b'"deny"', b'"allow"'))
    assert main(["log", "--dir", str(logdir / "log"), "--verify"]) == 1
    assert "BROKEN" in capsys.readouterr().out


def _records_then_edit(tmp_path: Path, close: bool) -> Path:
    p = Pseudonymiser(KEY)
    w = LogWriter(WriterConfig(tmp_path / "log"), p, key_id=p.key_id).start()
    for i in range(3):
        assert w.wait(w.submit({"decision_id": f"d-{i}", "action": "read", "decision": "deny"}), timeout=5)
    if close:
        assert w.close()
    (f,) = log_files(tmp_path / "log")
    return f


@pytest.mark.parametrize("close", [True, False], ids=["closed file", "file still being written"])
def test_verify_finds_a_cut_off_tail(tmp_path: Path, close: bool, capsys: pytest.CaptureFixture[str]) -> None:
    f = _records_then_edit(tmp_path, close)
    assert main(["log", "--dir", str(tmp_path / "log"), "--verify"]) == 0
    assert ": ok, 3 records" in capsys.readouterr().out
    lines = f.read_bytes().splitlines(keepends=True)
    for keep in (len(lines) - 1, 2):  # the last line cut off; everything after the first record cut off
        f.write_bytes(b"".join(lines[:keep]))
        assert main(["log", "--dir", str(tmp_path / "log"), "--verify"]) == 1
        out = capsys.readouterr().out
        assert "BROKEN" in out and "cut off" in out


def test_verify_finds_an_edited_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _records_then_edit(tmp_path, close=False)  # the last lines: the last record and its checkpoint
    lines = f.read_bytes().splitlines(keepends=True)
    assert b'"d-2"' in lines[-2] and b'"checkpoint"' in lines[-1]
    f.write_bytes(b"".join(lines[:-2]) + lines[-2].replace(b'"deny"', b'"allow"') + lines[-1])
    assert main(["log", "--dir", str(tmp_path / "log"), "--verify"]) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_verify_reports_a_file_whose_end_cannot_be_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _records_then_edit(tmp_path, close=True)
    for head in f.parent.glob(f.name + ".*"):
        head.unlink()  # the checkpoint is gone: a cut-off tail could no longer be told from an intact end
    assert main(["log", "--dir", str(tmp_path / "log"), "--verify"]) == 1
    assert "end cannot be checked" in capsys.readouterr().out
