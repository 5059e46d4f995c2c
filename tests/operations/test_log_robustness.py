"""Security review, issue 17: no request can kill or stall the decision log; every wait is bounded;
health tells the truth (dead or stuck writer); a slow sink slows requests instead of refusing them."""

from __future__ import annotations

import asyncio
import errno
import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import wait_until

from poortwachter.core.verdict import BundleRef
from poortwachter.logbook import query as q
from poortwachter.logbook import segment as segment_module
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.record import DecisionEvent, Item, Subject
from poortwachter.logbook.writer import LogTimeout, LogUnavailable, LogWriter, WriterConfig
from poortwachter.service.decision_log import DecisionLog, JsonLinesOutput

PSEUDO = Pseudonymiser(b"0123456789abcdef0123456789abcdef")


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"x": value}
    return value


def decision_event(i: int, **extra: Any) -> DecisionEvent:
    """The service's event (service/decider.py builds this shape); ``extra`` may hold any value at all:
    the types are not checked at run time, so the record must bound whatever arrives."""
    fields: dict[str, Any] = {"decision_id": f"d-{i}", "request_id": "r", "endpoint": "evaluation", "decision": True,
                              "time": "2026-11-22T10:00:00+01:00", "subject": Subject("p-1", "person"),
                              "client": "c-1", "action": "read", **extra}
    return DecisionEvent(**fields)


def start(tmp_path: Path, **kw: Any) -> LogWriter:
    return LogWriter(WriterConfig(directory=tmp_path / "log", **kw), PSEUDO, key_id=PSEUDO.key_id).start()


def records(tmp_path: Path) -> list[dict[str, Any]]:
    return list(q.read_records(tmp_path / "log"))


def eventually(predicate: Any, seconds: float = 5.0) -> bool:
    return wait_until(predicate, seconds, 0.01)


POISON = {
    "300 deep in emergency.by": {"emergency": True, "emergency_by": nested(300)},
    "300 deep as subject id": {"subject": Subject(nested(300))},
    "a 65-bit integer in rules": {"rules": (2**70,)},
    "a 5000-digit integer": {"item": Item(id=10**5000)},
    "deep list in attestations": {"attestations": (nested(300),) * 3},
    "a huge string": {"purpose": "p" * 1_000_000},
    "many attestations": {"attestations": ("emergency",) * 100_000},
    "an object as decision id": {"decision_id": nested(300)},
    "a deep as_of and bundle": {"as_of": nested(300), "bundle": BundleRef("b", nested(300), "r")},
    "a deep error": {"errors": (nested(300),)},
    "a deep time": {"time": nested(300)},
}


@pytest.mark.parametrize("poison", list(POISON.values()), ids=list(POISON))
def test_a_hostile_value_never_kills_the_writer(tmp_path: Path, poison: dict[str, Any]) -> None:
    w = start(tmp_path, wait_timeout=3.0)
    first = w.submit(decision_event(1, **poison))
    w.wait(first, timeout=3.0)
    assert w.wait(w.submit(decision_event(2)), timeout=3.0), "the writer must still write after a hostile record"
    assert w.health().ok
    assert w.close()
    on_disk = records(tmp_path)
    assert "d-2" in [r["decision_id"] for r in on_disk] and len(on_disk) == 2
    for line in (tmp_path / "log").glob("*.jsonl"):
        assert all(len(x) < 16_384 for x in line.read_bytes().splitlines())  # bounded records


def test_hostile_values_in_a_raw_decision_event_are_bounded(tmp_path: Path) -> None:
    w = start(tmp_path)
    raw = {"subject": {"id": nested(300), "type": "p" * 10_000},
           "resource": {"properties": {"client": {"id": 2**70}}, "id": ["d-1"]},
           "context": {"attestations": [{"kind": nested(300), "by": nested(300)}] * 1000, "time": nested(300)}}
    ev = DecisionEvent.undecided("dec-raw", "r", "evaluations", "2026-11-22T10:00:00+01:00", raw, "request-error",
                                 "x" * 100_000)
    assert w.wait(w.submit(ev), timeout=3)
    w.close()
    (rec,) = records(tmp_path)
    assert rec["decision_id"] == "dec-raw" and rec["subject"]["id"] is None and rec["subject"]["type"] is None
    assert rec["client"] is None and rec["item"]["id"] is None and rec["attestations"] == [] and rec["emergency"] is None
    assert all(len(e) <= 1025 for e in rec["errors"])


def test_a_record_that_cannot_be_encoded_becomes_an_error_record(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from poortwachter.logbook import record as record_module

    real = record_module.to_record

    def broken(event: Any, pseudonymise: Any, identifying: Any) -> dict[str, Any]:
        out = real(event, pseudonymise, identifying)
        if out["decision_id"] == "d-1":
            out["purpose"] = object()  # not JSON: a bug in the record builder
        return out

    monkeypatch.setattr(record_module, "to_record", broken)
    w = start(tmp_path)
    bad = w.submit(decision_event(1))
    assert w.wait(bad, timeout=3) is False  # its decision is not answered (fail closed) ...
    assert w.wait(w.submit(decision_event(2)), timeout=3)  # ... and the writer goes on
    assert w.health().ok
    w.close()
    error, good = records(tmp_path)
    assert error["decision_id"] == "d-1" and "encoding_error" in error and "TypeError" in error["encoding_error"]
    assert good["decision_id"] == "d-2"
    assert all(not r.problems for r in q.verify(tmp_path / "log"))


def test_a_stuck_sink_bounds_every_wait_and_turns_unhealthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = start(tmp_path, wait_timeout=0.3)
    assert w.wait(w.submit(decision_event(0)))
    real = os.fdatasync
    release = threading.Event()

    def hanging(fd: int) -> None:
        release.wait(10)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", hanging)
    first, second = w.submit(decision_event(1)), w.submit(decision_event(2))
    started = time.monotonic()
    with pytest.raises(LogTimeout):
        asyncio.run(asyncio.wait_for(w.wait_async(first), 5))  # the outer 5 s only guards the test
    assert time.monotonic() - started < 2
    started = time.monotonic()
    assert w.wait(second) is False  # no timeout given: the configured one applies
    assert time.monotonic() - started < 2
    assert eventually(lambda: not w.health().ok)
    health = w.health()
    assert health.live and "no progress" in (health.detail or "")
    with pytest.raises(LogUnavailable):
        w.submit(decision_event(3))
    release.set()
    assert eventually(lambda: w.health().ok)
    assert w.wait(w.submit(decision_event(4)))
    w.close()


class Dead(BaseException):
    """Something the per-batch guard does not catch."""


def test_a_dead_writer_says_so_and_releases_its_waiters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = start(tmp_path, wait_timeout=5.0)
    assert w.wait(w.submit(decision_event(0)))

    def die(*args: Any) -> Any:
        raise Dead("simulated")

    monkeypatch.setattr(w, "_write_batch", die)
    seq = w.submit(decision_event(1))
    started = time.monotonic()
    assert w.wait(seq) is False and time.monotonic() - started < 2  # released, not left to time out
    health = w.health()
    assert not health.ok and not health.live and "died" in (health.detail or "")
    assert not w.healthy
    with pytest.raises(LogUnavailable):
        w.submit(decision_event(2))
    assert not w.close(timeout=1)


def slow_fdatasync(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real = os.fdatasync

    def slow(fd: int) -> None:
        threading.Event().wait(seconds)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow)


def test_a_slow_sink_slows_requests_instead_of_refusing_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = start(tmp_path, max_pending=8, wait_timeout=10.0)
    slow_fdatasync(monkeypatch, 0.005)
    refused: list[str] = []
    answered: list[bool] = []

    def caller(n: int) -> None:
        for i in range(15):
            try:
                seqs = [w.submit(decision_event(n * 1000 + i * 10 + k), wake=False) for k in range(3)]
            except LogUnavailable as exc:
                refused.append(str(exc))
                continue
            answered.append(w.wait(max(seqs)) and all(w.succeeded(s) for s in seqs))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert refused == [] and answered == [True] * (24 * 15)
    assert w.waited_for_room > 0  # the queue was full: callers waited (back-pressure), none was refused
    assert w.close()
    assert len(records(tmp_path)) == 24 * 15 * 3


def test_back_pressure_in_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's shape: requests in one event loop submit without waking, then await."""
    w = start(tmp_path, max_pending=16, wait_timeout=10.0)
    slow_fdatasync(monkeypatch, 0.003)

    async def request(n: int) -> bool:
        await asyncio.sleep(0)
        seqs = [w.submit(decision_event(n * 100 + k), wake=False) for k in range(20)]
        return await w.wait_async(max(seqs))

    async def load() -> list[bool]:
        return list(await asyncio.gather(*(request(n) for n in range(200))))

    assert asyncio.run(load()) == [True] * 200
    assert w.close()
    assert len(records(tmp_path)) == 4000


def test_back_pressure_times_out_with_a_clear_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = start(tmp_path, max_pending=2, wait_timeout=0.2)
    release = threading.Event()
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (release.wait(10), real(fd)))
    w.submit(decision_event(1))
    assert eventually(lambda: w.pending == 1 and not w._queue)  # the writer hangs in the fsync of d-1
    w.submit(decision_event(2), wake=False)
    w.submit(decision_event(3), wake=False)
    started = time.monotonic()
    with pytest.raises(LogTimeout, match="no room"):
        w.submit(decision_event(4), wake=False)
    assert 0.15 < time.monotonic() - started < 2
    release.set()
    w.close()


class SlowStream(io.BytesIO):
    def write(self, data: Any) -> int:
        threading.Event().wait(0.002)
        return super().write(data)


def test_the_stdout_sink_applies_back_pressure_too() -> None:
    stream = SlowStream()
    log = DecisionLog(JsonLinesOutput(stream, PSEUDO), capacity=4, wait_timeout=10.0)
    refused: list[str] = []

    def caller(n: int) -> None:
        for i in range(20):
            try:
                log.record(decision_event(n * 100 + i))
            except LogUnavailable as exc:
                refused.append(str(exc))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    log.close()
    assert refused == []
    assert len(stream.getvalue().splitlines()) == 320


def test_the_stdout_sink_survives_a_hostile_record_without_a_retry_loop() -> None:
    stream = io.BytesIO()
    log = DecisionLog(JsonLinesOutput(stream, PSEUDO), capacity=10)
    log.record(decision_event(1, emergency=True, emergency_by=nested(300)))
    log.record(decision_event(2))
    assert eventually(lambda: len(stream.getvalue().splitlines()) == 2, 3)
    assert log.health().ok
    log.close()
    ids = [orjson.loads(x)["decision_id"] for x in stream.getvalue().splitlines()]
    assert ids == ["d-1", "d-2"]


def test_a_dead_stdout_drain_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.BytesIO()
    sink = JsonLinesOutput(stream, PSEUDO)
    log = DecisionLog(sink, capacity=10)

    def die(event: Any) -> None:
        raise Dead("simulated")

    monkeypatch.setattr(sink, "write", die)
    log.record(decision_event(1))
    assert eventually(lambda: not log.health().live, 3)
    assert "died" in (log.health().detail or "") and not log.healthy
    with pytest.raises(LogUnavailable):
        log.record(decision_event(2))
    log.close(timeout=1)


def test_no_empty_files_while_the_disk_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = start(tmp_path, retry_seconds=0.02)
    assert w.wait(w.submit(decision_event(1)))
    real = os.fdatasync
    full = threading.Event()
    full.set()
    attempts: list[int] = []

    def fdatasync(fd: int) -> None:
        if full.is_set():
            attempts.append(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    assert w.wait(w.submit(decision_event(2))) is False
    assert eventually(lambda: len(attempts) >= 6)  # several retries of a fresh file
    assert len(q.log_files(tmp_path / "log")) == 1  # only the file that holds records
    full.clear()
    assert eventually(lambda: w.healthy)
    assert w.wait(w.submit(decision_event(3)))
    assert w.close()
    files = q.log_files(tmp_path / "log")
    assert len(files) == 2 and all(f.stat().st_size > 0 for f in files)
    assert [r.problems for r in q.verify(tmp_path / "log")] == [[], []]
    assert [r["decision_id"] for r in records(tmp_path) if r["decision_id"] != "d-2"] == ["d-1", "d-3"]


def test_a_folder_verified_while_a_writer_starts_a_file_shows_no_problem(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``log --verify`` on a live folder (an operator's check, or a test right after a worker was replaced)
    must not catch a file half-born: seen in CI as "the end cannot be checked: no checkpoint copy" for the
    file a replacement worker was opening. A file appears under its name only with its ``.head`` written."""
    seen: list[list[str]] = []
    real = segment_module.write_all

    def write_all(fd: int, data: bytes) -> None:
        real(fd, data)
        if b'"event":"open"' in data:  # the new file's open line and first checkpoint are written
            seen.append([p for r in q.verify(tmp_path / "log") for p in r.problems])

    monkeypatch.setattr(segment_module, "write_all", write_all)
    w = start(tmp_path, max_file_bytes=4096)
    for i in range(40):  # several rotations
        assert w.wait(w.submit(decision_event(i)))
    assert w.close()
    assert len(seen) > 3 and seen == [[]] * len(seen)
    assert [r.problems for r in q.verify(tmp_path / "log")] == [[]] * len(q.log_files(tmp_path / "log"))


def test_a_new_file_never_takes_or_touches_the_name_of_an_existing_one(tmp_path: Path) -> None:
    """A file already under the name a writer would pick (an earlier version's, whose ``.head`` came after it,
    here without one) is left as it was: no ``.head`` made beside it, the new file under the next free name."""
    folder = tmp_path / "log"
    folder.mkdir()
    now = 1_795_000_000.0
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "000000Z"
    taken = folder / f"decisions-{stamp}-p{os.getpid()}.jsonl"
    taken.write_bytes(b"an earlier file\n")
    segments = segment_module.Segments(folder, None, key_id="k", durability="fsync", clock=lambda: now)
    segments.open_new()
    assert segments.path is not None and segments.path.name == taken.name.replace(".jsonl", "-1.jsonl")
    segments.finish()
    assert taken.read_bytes() == b"an earlier file\n"
    assert not segment_module.head_path(taken).exists()
    assert sorted(p.name for p in folder.iterdir()) == [taken.name]  # the new one, empty, removed at finish
