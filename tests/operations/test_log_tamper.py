"""Tamper evidence with a key (issue 12 item 4): every kind of edit, with the hash chain recomputed
afterwards, is caught by ``poortwachter log --verify --log-public-key`` and named by file, line and
record id. The same edits without the key show what the chain alone misses.

The table (``CASES``) is the one quoted in docs/operations.md."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from poortwachter.cli import main
from poortwachter.logbook import checkpoint
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.query import log_files, verify
from poortwachter.logbook.segment import Chain, head_path
from poortwachter.logbook.writer import LogWriter, WriterConfig

P = Pseudonymiser(b"tamper-test-key-0123456789abcdef")
Edit = Callable[[list[Path]], None]


def journal(tmp_path: Path, records: int = 12, *, rotate: bool = False, signer: checkpoint.Signer | None = None
            ) -> tuple[Path, Path]:
    """A closed journal (one file, or several when ``rotate``) and the public key that verifies it."""
    key_file = tmp_path / "log-key.key"
    signer = signer or checkpoint.generate(key_file)
    folder = tmp_path / "log"
    w = LogWriter(WriterConfig(folder, max_file_bytes=4096 if rotate else 1 << 20), P, signer=signer).start()
    for i in range(records):
        assert w.wait(w.submit({"decision_id": f"d-{i}", "client": "c-1", "subject": {"id": "p-1", "role": "ouder"},
                                "action": "read", "decision": "allow"}), timeout=5)
    assert w.close()
    return folder, key_file.with_suffix(".pub")


def _lines(f: Path) -> list[bytes]:
    return f.read_bytes().splitlines(keepends=True)


def recompute(lines: list[bytes]) -> list[bytes]:
    """What an editor with write access does to hide an edit: every ``prev`` made right again."""
    out = [lines[0]]
    for line in lines[1:]:
        data = orjson.loads(line)
        data["prev"] = hashlib.sha256(out[-1]).hexdigest()
        out.append(orjson.dumps(data) + b"\n")
    return out


def _record_at(lines: list[bytes], decision_id: str) -> int:
    return next(i for i, x in enumerate(lines) if f'"decision_id":"{decision_id}"'.encode() in x)


def edit_file(change: Callable[[list[bytes]], list[bytes]], *, chain: bool = True) -> Edit:
    def apply(files: list[Path]) -> None:
        f = files[0]
        lines = change(_lines(f))
        f.write_bytes(b"".join(recompute(lines) if chain else lines))
    return apply


def _alter(lines: list[bytes]) -> list[bytes]:
    i = _record_at(lines, "d-5")
    return [*lines[:i], lines[i].replace(b'"allow"', b'"deny"'), *lines[i + 1:]]


def _delete(lines: list[bytes]) -> list[bytes]:
    i = _record_at(lines, "d-5")
    return lines[:i] + lines[i + 1:]


def _insert(lines: list[bytes]) -> list[bytes]:
    i = _record_at(lines, "d-5")
    return [*lines[:i], lines[i].replace(b'"d-5"', b'"forged"'), *lines[i:]]


def _swap(lines: list[bytes]) -> list[bytes]:
    i, j = _record_at(lines, "d-5"), _record_at(lines, "d-6")
    out = list(lines)
    out[i], out[j] = lines[j], lines[i]
    return out


def _resign_heads(lines: list[bytes]) -> list[bytes]:
    """Altered, chain recomputed, and every checkpoint's signed head rewritten to match."""
    out = recompute(_alter(lines))
    fixed = [out[0]]
    for line in out[1:]:
        data = orjson.loads(line)
        data["prev"] = hashlib.sha256(fixed[-1]).hexdigest()
        if data.get("event") == "checkpoint":
            data["head"] = data["prev"]
        fixed.append(orjson.dumps(data) + b"\n")
    return fixed


def _drop_checkpoint(lines: list[bytes]) -> list[bytes]:
    i = next(n for n, x in enumerate(lines) if b'"event":"checkpoint"' in x and b'"number":2,' in x)
    return lines[:i] + lines[i + 1:]


def _append(lines: list[bytes]) -> list[bytes]:
    return [*lines, lines[_record_at(lines, "d-5")].replace(b'"d-5"', b'"late"')]


def _cut_tail(files: list[Path]) -> None:
    f = files[0]
    lines = _lines(f)
    f.write_bytes(b"".join(lines[:_record_at(lines, "d-9")]))


def _cut_tail_and_head(files: list[Path]) -> None:
    _cut_tail(files)
    head_path(files[0]).unlink()


def _delete_middle_file(files: list[Path]) -> None:
    files[1].unlink()
    head_path(files[1]).unlink()


def _delete_newest_file(files: list[Path]) -> None:
    files[-1].unlink()
    head_path(files[-1]).unlink()


def _swap_files(files: list[Path]) -> None:
    a, b = files[0], files[1]
    tmp = a.with_name("swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    ha, hb = head_path(a), head_path(b)
    ha.rename(tmp)
    hb.rename(ha)
    tmp.rename(hb)


# what was changed → (the edit, several files?, what --verify with the key says)
CASES: dict[str, tuple[Edit, bool, str]] = {
    "a record changed": (edit_file(_alter, chain=False), False, "(record d-5): changed after it was signed"),
    "a record changed, chain recomputed": (edit_file(_alter), False, "(record d-5): changed after it was signed"),
    "a record deleted, chain recomputed": (edit_file(_delete), False, "1 line(s) removed after line"),
    "a record inserted, chain recomputed": (edit_file(_insert), False, "(record forged): inserted"),
    "two records swapped, chain recomputed": (edit_file(_swap), False, "(record d-6): moved (lines reordered)"),
    "changed, chain and checkpoint heads rewritten": (edit_file(_resign_heads, chain=False), False,
                                                      "signature invalid"),
    "a checkpoint removed, chain recomputed": (edit_file(_drop_checkpoint), False, "checkpoint 3 follows checkpoint 1"),
    "a record appended after the last checkpoint": (edit_file(_append), False,
                                                    "(late) come after the last checkpoint"),
    "the tail cut off": (_cut_tail, False, "the tail was cut off"),
    "the tail cut off and the .head removed": (_cut_tail_and_head, False, "the end cannot be checked"),
    "a file in the middle deleted": (_delete_middle_file, True, "which is missing"),
    "the newest file deleted": (_delete_newest_file, True, "was rotated into"),
    "two files swapped (renamed)": (_swap_files, True, "the checkpoint was made for file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_caught_with_the_key_and_named(tmp_path: Path, case: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    edit, several, expected = CASES[case]
    folder, public = journal(tmp_path, 40 if several else 12, rotate=several)
    files = log_files(folder)
    assert len(files) >= (3 if several else 1)
    keys = checkpoint.load_public_keys([public])
    assert all(not r.problems for r in verify(folder, keys))
    edit(files)
    problems = [f"{r.path.name}: {p}" for r in verify(folder, keys) for p in r.problems]
    assert any(expected in p for p in problems), problems
    assert main(["log", "--dir", str(folder), "--verify", "--log-public-key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out and expected in out


def test_a_journal_as_written_verifies_with_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, public = journal(tmp_path, 40, rotate=True)
    assert main(["log", "--dir", str(folder), "--verify", "--log-public-key", str(public)]) == 0
    out = capsys.readouterr().out
    assert "BROKEN" not in out and out.count(": ok,") == len(log_files(folder))
    assert "signed checkpoint(s) verified" in out


def test_checkpoints_name_the_segment_its_range_and_count(tmp_path: Path) -> None:
    folder, public = journal(tmp_path, 3)
    (f,) = log_files(folder)
    cps = [checkpoint.Checkpoint.parse(orjson.loads(x)) for x in _lines(f) if b'"event":"checkpoint"' in x]
    last = cps[-1]
    assert last.segment == f.name and last.records == 3 and last.end == "closed" and last.number == len(cps)
    assert last.first_time is not None and last.last_time is not None and last.first_time <= last.last_time
    assert last.check_signature(checkpoint.load_public_keys([public])) is None
    assert sum(len(c.leaves) for c in cps) == len(_lines(f)) - len(cps)  # every other line is covered once


def test_the_wrong_key_or_no_signature_fails(tmp_path: Path) -> None:
    folder, _ = journal(tmp_path / "a", 3)
    other = checkpoint.generate(tmp_path / "other.key")
    problems = [p for r in verify(folder, {other.key_id: other.public}) for p in r.problems]
    assert any("not among the public keys given" in p for p in problems)
    unsigned = tmp_path / "b"
    w = LogWriter(WriterConfig(unsigned), P).start()
    assert w.wait(w.submit({"decision_id": "d-0", "action": "read", "decision": "deny"}), timeout=5)
    assert w.close()
    assert all(not r.problems for r in verify(unsigned))  # the chain is fine ...
    problems = [p for r in verify(unsigned, {other.key_id: other.public}) for p in r.problems]
    assert any("not signed" in p for p in problems)  # ... but nothing in it is signed


def test_the_signing_key_comes_from_a_file_the_environment_or_is_made_for_development(tmp_path: Path) -> None:
    made, where = checkpoint.signer_from_settings(None, None, generate_at=tmp_path / "dev" / "log.key")
    assert made is not None and "NEW" in where and (tmp_path / "dev" / "log.pub").is_file()
    assert (tmp_path / "dev" / "log.key").stat().st_mode & 0o777 == 0o600
    again, _ = checkpoint.signer_from_settings(None, None, generate_at=tmp_path / "dev" / "log.key")
    assert again is not None and again.key_id == made.key_id
    pem = (tmp_path / "dev" / "log.key").read_text()
    from_env, where = checkpoint.signer_from_settings(pem, None)
    assert from_env is not None and from_env.key_id == made.key_id and "environment" in where
    filed, _ = checkpoint.signer_from_settings(None, tmp_path / "dev" / "log.key")
    assert filed is not None and filed.key_id == made.key_id
    assert checkpoint.signer_from_settings(None, None) == (None, "none: checkpoints are not signed")
    (tmp_path / "bad.key").write_text("not a key")
    with pytest.raises(checkpoint.LogKeyError):
        checkpoint.signer_from_settings(None, tmp_path / "bad.key")
    assert main(["keygen", str(tmp_path / "ops" / "log-key")]) == 0  # the same command as the bundle keys
    ops, _ = checkpoint.signer_from_settings(None, tmp_path / "ops" / "log-key.key")
    assert ops is not None and ops.key_id in checkpoint.load_public_keys([tmp_path / "ops"])


def forge(f: Path) -> None:
    """What an editor without the key can do at best: every checkpoint replaced by one made afresh
    (unsigned) over the edited lines, the chain and the ``.head`` copy made right again."""
    lines = recompute([x for x in _lines(f) if b'"event":"checkpoint"' not in x])
    chain = Chain(f.name, None, None)
    for line in lines:
        data = orjson.loads(line)
        chain.add(line, None if "event" in data else data["time"])
    final = chain.checkpoint(None, time.time(), "closed")
    f.write_bytes(b"".join(lines) + final)
    head_path(f).write_bytes(final)


@pytest.mark.parametrize("change", [_alter, _delete, _insert, _swap], ids=["changed", "deleted", "inserted", "swapped"])
def test_without_the_key_a_thorough_rewrite_goes_unnoticed_with_it_not(tmp_path: Path,
                                                                       change: Callable[[list[bytes]], list[bytes]]
                                                                       ) -> None:
    """Why the key matters: the chain alone proves nothing against whoever can write the files."""
    folder, public = journal(tmp_path)
    (f,) = log_files(folder)
    f.write_bytes(b"".join(change(_lines(f))))
    forge(f)
    assert [p for r in verify(folder) for p in r.problems] == []
    problems = [p for r in verify(folder, checkpoint.load_public_keys([public])) for p in r.problems]
    assert any("not signed" in p for p in problems), problems
