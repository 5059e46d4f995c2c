"""The decision log writer and reader: group commit, rotation, failure and recovery, queries, hash chain."""

from __future__ import annotations

import asyncio
import errno
import gzip
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from poortwachter.core.verdict import BundleRef
from poortwachter.logbook import query as q
from poortwachter.logbook import record
from poortwachter.logbook.pseudonym import Pseudonymiser, PseudonymKeyError, from_settings
from poortwachter.logbook.record import DecisionEvent, Item, Subject
from poortwachter.logbook.writer import LogUnavailable, LogWriter, WriterConfig

KEY = b"0123456789abcdef0123456789abcdef"
PSEUDO = Pseudonymiser(KEY)


class Counting:
    def __init__(self) -> None:
        self.batches: list[tuple[int, bool]] = []
        self.health: list[bool] = []

    def batch_written(self, records: int, seconds: float, ok: bool) -> None:
        self.batches.append((records, ok))

    def health_changed(self, healthy: bool, reason: str | None) -> None:
        self.health.append(healthy)

    def waited(self, seconds: float) -> None:
        pass

    def timed_out(self, stage: str) -> None:
        pass


def make_writer(tmp_path: Path, **kw: Any) -> tuple[LogWriter, Counting]:
    obs = Counting()
    clock = kw.pop("clock", None)
    cfg = WriterConfig(directory=tmp_path / "log", **kw)
    w = LogWriter(cfg, PSEUDO, key_id=PSEUDO.key_id, observer=obs, **({"clock": clock} if clock else {}))
    return w.start(), obs


def lines(directory: Path) -> list[dict[str, Any]]:
    out = []
    for f in q.log_files(directory):
        out += [orjson.loads(x) for x in f.read_bytes().splitlines()]
    return out


def event(i: int, client: str = "c-1", subject: str = "p-1") -> dict[str, Any]:
    return {"decision_id": f"d-{i}", "subject": {"id": subject, "type": "person", "role": "ouder"},
            "action": "read", "client": client, "decision": "allow"}


def test_a_waited_record_is_on_disk_pseudonymised_and_chained(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)
    seq = w.submit(event(1, client="c-42"))
    assert w.wait(seq, timeout=5)
    on_disk = lines(tmp_path / "log")
    assert on_disk[0]["event"] == "open" and on_disk[0]["key_id"] == PSEUDO.key_id
    rec = next(x for x in on_disk if "event" not in x)
    assert rec["decision_id"] == "d-1"
    assert rec["client"] == PSEUDO("c-42") and "c-42" not in orjson.dumps(on_disk).decode()
    assert w.close()
    reports = q.verify(tmp_path / "log")
    assert [r.problems for r in reports] == [[]] and reports[0].closed and reports[0].records == 1


def test_group_commit_covers_many_records_with_few_fsyncs(tmp_path: Path) -> None:
    w, obs = make_writer(tmp_path)
    results: list[bool] = []

    def client(n: int) -> None:
        for i in range(50):
            results.append(w.wait(w.submit(event(n * 1000 + i)), timeout=10))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 400
    assert sum(n for n, _ in obs.batches) == 400
    assert len(obs.batches) < 400  # several requests shared an fsync
    assert w.close()
    assert len(list(q.read_records(tmp_path / "log"))) == 400


def test_close_drains_everything_queued(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)
    for i in range(2000):
        w.submit(event(i))
    assert w.close()
    assert len(list(q.read_records(tmp_path / "log"))) == 2000
    with pytest.raises(LogUnavailable):
        w.submit(event(9999))


def test_rotation_by_size_keeps_the_chain_across_files(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path, max_file_bytes=4096)
    for i in range(100):
        assert w.wait(w.submit(event(i)), timeout=5)
    w.close()
    files = q.log_files(tmp_path / "log")
    assert len(files) > 3
    for f in files:
        assert f.stat().st_size <= 4096 + 1024  # one batch may pass the limit only in a fresh file
    headers = [orjson.loads(f.read_bytes().splitlines()[0]) for f in files]
    for before, header in zip(files, headers[1:], strict=False):
        assert header["prev_file"] == before.name
    assert all(not r.problems for r in q.verify(tmp_path / "log"))
    assert [r["decision_id"] for r in q.read_records(tmp_path / "log")] == [f"d-{i}" for i in range(100)]


def test_rotation_by_time_at_the_boundary(tmp_path: Path) -> None:
    now = [datetime(2026, 11, 23, 23, 59, 58, tzinfo=UTC).timestamp()]
    w, _ = make_writer(tmp_path, clock=lambda: now[0])
    assert w.wait(w.submit(event(1)), timeout=5)
    now[0] += 1
    assert w.wait(w.submit(event(2)), timeout=5)
    now[0] += 2  # past midnight UTC
    assert w.wait(w.submit(event(3)), timeout=5)
    w.close()
    names = [f.name for f in q.log_files(tmp_path / "log")]
    assert len(names) == 2 and names[0].startswith("decisions-20261123T235958") and "20261124T000001" in names[1]


def test_a_failed_fsync_fails_the_batch_closed_then_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w, obs = make_writer(tmp_path, retry_seconds=0.05)
    assert w.wait(w.submit(event(1)), timeout=5)
    real = os.fdatasync
    broken = threading.Event()
    broken.set()

    def fdatasync(fd: int) -> None:
        if broken.is_set():
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    assert w.wait(w.submit(event(2)), timeout=5) is False  # the request must not be answered
    assert not w.healthy and "No space left" in (w.reason or "")
    with pytest.raises(LogUnavailable):
        w.submit(event(3))
    broken.clear()
    for _ in range(200):
        if w.healthy:
            break
        threading.Event().wait(0.02)
    assert w.healthy and obs.health == [False, True]
    assert w.wait(w.submit(event(4)), timeout=5)
    w.close()
    ids = [r["decision_id"] for r in q.read_records(tmp_path / "log")]
    assert "d-1" in ids and "d-4" in ids and "d-3" not in ids


def test_wait_async_resolves_in_the_event_loop(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)

    async def many() -> list[bool]:
        return list(await asyncio.gather(*(w.wait_async(w.submit(event(i))) for i in range(300))))

    assert asyncio.run(many()) == [True] * 300
    w.close()


def test_the_writer_is_woken_once_the_loops_turn_is_done_and_commits_every_record_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten requests arrive in one turn of the event loop, each deciding for 3 ms before it waits. Woken at
    the first wait, the writer took the GIL from the loop a switch interval later for a group of the
    first one or two; woken when the turn is done, it commits all ten at once."""
    monkeypatch.setattr("poortwachter.logbook.writer.LINGER_SECONDS", 60.0)  # only a wake-up starts a group
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # as a server process has it (service/app.py tune_process)
    w, obs = make_writer(tmp_path)

    async def request(i: int) -> bool:
        deadline = time.perf_counter() + 0.003
        while time.perf_counter() < deadline:  # deciding: the loop holds the GIL
            pass
        return await w.wait_async(w.submit(event(i), wake=False))

    async def turn() -> list[bool]:
        return list(await asyncio.gather(*(request(i) for i in range(10))))

    try:
        assert asyncio.run(turn()) == [True] * 10
    finally:
        sys.setswitchinterval(previous)
        w.close()
    assert obs.batches == [(10, True)]


def test_write_durability_answers_without_fsync_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w, _ = make_writer(tmp_path, durability="write", sync_seconds=3600)
    calls = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (calls.append(fd), real(fd)))
    for i in range(20):
        assert w.wait(w.submit(event(i)), timeout=5)
    assert calls == []
    w.close()
    assert calls  # the file is synced when closed
    assert len(list(q.read_records(tmp_path / "log"))) == 20


def full_event() -> DecisionEvent:
    """A decision event with every field set."""
    ref = BundleRef("mini", "1.0.0", "sha256:abc")
    return DecisionEvent("dec-1", "req-1", "/access/v1/evaluation", True, "2026-11-22T11:00:00+01:00",
                       as_of="2026-11-22T10:00:00+01:00", subject=Subject("prof-9", "professional", "jeugdarts"),
                       organisation="ggd-x", action="read", client="c-1",
                       item=Item("dossier_item", "d-1/item", "gespreksverslag", "jgz"), rules=("r-1",),
                       obligations=("log_access",), bundle=ref, purpose="emergency", attestations=("emergency",),
                       emergency=True, emergency_by="prof-9", processing_activity_id="pa-17",
                       traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


def test_decision_events_expand_into_the_bounded_pseudonymised_record(tmp_path: Path) -> None:
    """The one event shape: typed values in, the bounded, pseudonymised record out."""
    w, _ = make_writer(tmp_path)
    ev = full_event()
    raw = DecisionEvent.undecided("dec-2", "req-1", "/access/v1/evaluations", "2026-11-22T11:00:01+01:00",
                                  {"subject": {"id": "x"}, "resource": {"properties": {"client": {"id": "c-5"}}}},
                                  "request-error", "resource.type: missing")
    assert w.wait(w.submit(ev), timeout=5) and w.wait(w.submit(raw), timeout=5)
    w.close()
    first, second = q.read_records(tmp_path / "log")
    assert first["subject"] == {"id": PSEUDO("prof-9"), "type": "professional", "role": "jeugdarts"}
    assert first["organisation"] == "ggd-x"
    assert first["client"] == PSEUDO("c-1") and first["action"] == "read"
    assert first["item"] == {"type": "dossier_item", "id": PSEUDO("d-1") + "/item", "category": "gespreksverslag",
                             "dossier_type": "jgz"}
    assert first["emergency"] == {"by": PSEUDO("prof-9")} and first["purpose"] == "emergency"
    assert first["processing_activity_id"] == "pa-17" and first["traceparent"].startswith("00-0af7")
    assert first["bundle"] == {"name": "mini", "version": "1.0.0", "revision": "sha256:abc"}
    assert first["rules"] == ["r-1"] and first["obligations"] == ["log_access"]
    assert first["as_of"].startswith("2026-11-22T10:00:00") and first["time"] == "2026-11-22T11:00:00+01:00"
    assert second["decision"] == "deny" and second["client"] == PSEUDO("c-5") and second["rules"] == ["request-error"]
    assert second["errors"] == ["resource.type: missing"] and second["subject"]["id"] == PSEUDO("x")


@pytest.mark.parametrize("prev", [None, "sha256:" + "ab" * 32])
def test_a_prepared_record_links_to_the_bytes_of_the_record_with_prev_as_its_last_key(prev: str | None) -> None:
    """record.link splices ``prev`` into bytes serialised earlier: the line must be exactly what serialising
    the whole record would give, or the hash chain and every reader would see another record."""
    undecided = DecisionEvent.undecided("d", None, "/e", "2026-11-22T11:00:01+01:00", {"x": [1]}, "r", "e")
    for ev in (full_event(), undecided,
               {**event(7), "time": "2026-11-22T11:00:02Z"}, {"v": 1, "time": "2026-11-22T11:00:00Z"}):
        whole = record.to_record(ev, PSEUDO)
        prepared = record.prepare(ev, PSEUDO)
        assert prepared.ok and prepared.time == whole["time"]
        assert record.link(prepared, prev) == (orjson.dumps({**whole, "prev": prev}) + b"\n", True, whole["time"])
        assert record.link(prepared, prev, chained=False)[0] == orjson.dumps(whole) + b"\n"


def test_a_mappings_own_prev_gives_way_to_the_writers_link() -> None:
    line, ok, _ = record.link(record.prepare({**event(1), "prev": "forged"}, PSEUDO), "sha256:real")
    assert ok and line.count(b'"prev"') == 1 and orjson.loads(line)["prev"] == "sha256:real"


def test_an_event_that_cannot_be_serialised_is_an_error_record_not_an_exception() -> None:
    class Hostile(dict[str, Any]):
        def items(self) -> Any:
            raise RuntimeError("boom")

    prepared = record.prepare(Hostile(decision_id="d-9"), PSEUDO)
    line, ok, _ = record.link(prepared, None)
    assert not ok and orjson.loads(line)["encoding_error"] == "RuntimeError: boom"


def test_records_are_serialised_on_the_submitting_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer thread's turn under the GIL delays every answer of its group commit: it only links the
    lines (record.Prepared says why), the event loop serialises them as it submits."""
    threads: list[str] = []
    real = record.to_record
    monkeypatch.setattr(record, "to_record", lambda *a, **k: (threads.append(threading.current_thread().name),
                                                               real(*a, **k))[1])
    w, _ = make_writer(tmp_path)
    assert all(w.wait(w.submit(ev), timeout=5) for ev in (full_event(), event(2)))
    w.close()
    assert threads == [threading.current_thread().name] * 2
    assert [r["decision_id"] for r in q.read_records(tmp_path / "log")] == ["dec-1", "d-2"]


def test_reader_skips_a_torn_last_line_and_gz_files(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)
    for i in range(3):
        assert w.wait(w.submit(event(i)), timeout=5)
    w.close()
    (f,) = q.log_files(tmp_path / "log")
    with f.open("ab") as fh:
        fh.write(b'{"v":1,"decision_id":"half')
    problems: list[str] = []
    assert len(list(q.read_records(tmp_path / "log", on_problem=problems.append))) == 3
    assert problems and "incomplete" in problems[0]
    gz = f.with_name(f.name + ".gz")
    gz.write_bytes(gzip.compress(f.read_bytes()))
    f.unlink()
    assert len(list(q.read_records(tmp_path / "log"))) == 3
    assert q.verify(tmp_path / "log")[0].torn_tail


def test_verify_finds_a_changed_or_removed_line(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)
    for i in range(5):
        assert w.wait(w.submit(event(i)), timeout=5)
    w.close()
    (f,) = q.log_files(tmp_path / "log")
    raw = f.read_bytes().splitlines(keepends=True)
    f.write_bytes(b"".join(raw[:2] + raw[3:]))  # a record removed
    assert any("hash chain broken" in p for p in q.verify(tmp_path / "log")[0].problems)
    f.write_bytes(b"".join(raw).replace(b'"allow"', b'"deny"', 1))
    assert q.verify(tmp_path / "log")[0].problems


def test_query_by_client_subject_and_time(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)
    for i in range(10):
        assert w.wait(w.submit(event(i, client="c-child" if i % 2 else "c-other", subject=f"p-{i % 3}")), timeout=5)
    w.close()
    d = tmp_path / "log"
    mine = list(q.search(d, q.Query(client=lambda logged: PSEUDO.matches("c-child", logged))))
    assert [r["decision_id"] for r in mine] == ["d-1", "d-3", "d-5", "d-7", "d-9"]
    assert [r["decision_id"] for r in q.search(d, q.Query(subject=PSEUDO("p-0")))] == ["d-0", "d-3", "d-6", "d-9"]
    now = datetime.now(UTC)
    assert len(list(q.search(d, q.Query(since=now - timedelta(minutes=5), until=now + timedelta(minutes=5))))) == 10
    assert list(q.search(d, q.Query(since=now + timedelta(minutes=5)))) == []
    assert list(q.search(d, q.Query(until=now - timedelta(days=1)))) == []
    text = "\n".join(q.render_text(mine))
    assert f"{PSEUDO('p-1')} (person/ouder)" in text


def test_pseudonym_keys(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError):
        Pseudonymiser(b"short")
    assert Pseudonymiser(KEY)("c-1") != Pseudonymiser(KEY[::-1])("c-1")
    assert Pseudonymiser(KEY)("c-1").startswith(f"hmac-sha256:{PSEUDO.key_id}:")
    clear, _ = from_settings(None, None, enabled=False)
    assert clear("c-1") == "c-1"
    env, where = from_settings(KEY.decode(), None)
    assert env("c-1") == PSEUDO("c-1") and "environment" in where
    (tmp_path / "k").write_bytes(KEY + b"\n")
    filed, _ = from_settings(None, tmp_path / "k")
    assert filed("c-1") == PSEUDO("c-1")
    with pytest.raises(PseudonymKeyError):
        from_settings(None, None)
    made, where = from_settings(None, None, generate_at=tmp_path / "gen" / "key")
    assert "NEW" in where and (tmp_path / "gen" / "key").stat().st_mode & 0o777 == 0o600
    again, where = from_settings(None, None, generate_at=tmp_path / "gen" / "key")
    assert again("c-1") == made("c-1") and "NEW" not in where


def test_a_writer_that_recorded_nothing_leaves_no_file(tmp_path: Path) -> None:
    w, _ = make_writer(tmp_path)
    assert w.close()
    assert q.log_files(tmp_path / "log") == []


def test_records_nobody_waits_for_are_written_soon(tmp_path: Path) -> None:
    w, obs = make_writer(tmp_path)
    for i in range(5):
        w.submit(event(i), wake=False)  # a request's records: the writer sleeps until someone waits ...
    for _ in range(100):  # ... or LINGER_SECONDS pass
        if sum(n for n, _ in obs.batches) == 5:
            break
        threading.Event().wait(0.01)
    assert sum(n for n, _ in obs.batches) == 5 and len(obs.batches) == 1  # one group commit for all five
    w.close()


def test_files_of_several_workers_are_merged_in_time_order(tmp_path: Path) -> None:
    a, _ = make_writer(tmp_path)
    b, _ = make_writer(tmp_path)
    for w, minutes in ((a, (1, 3)), (b, (2, 4))):
        for m in minutes:
            w.wait(w.submit({**event(m), "time": f"2026-11-23T10:0{m}:00+01:00"}), timeout=5)
    a.close()
    b.close()
    assert len(q.log_files(tmp_path / "log")) == 2
    assert [r["decision_id"] for r in q.read_records(tmp_path / "log")] == ["d-1", "d-2", "d-3", "d-4"]
