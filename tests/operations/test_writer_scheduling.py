"""The decision log writer's thread runs under Linux's SCHED_BATCH policy, its fdatasync under the default one (issue 16).

Its wake-ups for Python work (a request waiting, its linger) then no longer preempt the event loop
that decides; it keeps its fair share of the CPU. Inside a group commit's ``fdatasync`` (no GIL held)
its wake-ups run at once, so the answers waiting for that commit do not also wait for a busy core's
time slice. Only the writer's own thread changes: the process and the threads that serve requests keep
the default policy.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.scheduling import batch_scheduling, fdatasync_promptly
from poortwachter.logbook.writer import LogWriter, WriterConfig


def _allowed() -> bool:
    """Whether this system lets a thread switch itself to SCHED_BATCH (Linux does, unless a sandbox refuses)."""
    if not hasattr(os, "SCHED_BATCH"):
        return False
    result: list[bool] = []
    probe = threading.Thread(target=lambda: result.append(batch_scheduling()))
    probe.start()
    probe.join()
    return result == [True]


pytestmark = pytest.mark.skipif(not _allowed(), reason="this system has no SCHED_BATCH or refuses it to a thread "
                                                       "(the writer then runs under the default policy)")


def _policy(tid: int) -> int:
    """A thread's scheduling policy as the kernel reports it (field 41 of /proc/<pid>/task/<tid>/stat)."""
    stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[38])


def test_batch_scheduling_changes_the_calling_thread_only() -> None:
    before = os.sched_getscheduler(0)
    seen: dict[str, object] = {}

    def thread() -> None:
        seen["changed"] = batch_scheduling()
        seen["policy"] = os.sched_getscheduler(0)

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join()
    assert seen == {"changed": True, "policy": os.SCHED_BATCH}
    assert os.sched_getscheduler(0) == before != os.SCHED_BATCH


def test_the_writer_thread_is_batch_scheduled_and_the_caller_is_not(tmp_path: Path) -> None:
    before = os.sched_getscheduler(0)
    pseudonymise = Pseudonymiser(b"k" * 32)
    writer = LogWriter(WriterConfig(tmp_path / "log"), pseudonymise, key_id=pseudonymise.key_id).start()
    try:
        assert writer.wait(writer.submit({"decision_id": "d-1", "decision": "allow"}))  # it works as before
        thread = writer._thread
        assert thread is not None and thread.native_id is not None
        assert _policy(thread.native_id) == os.SCHED_BATCH
        assert _policy(threading.get_native_id()) == before != os.SCHED_BATCH
    finally:
        writer.close()


def test_a_group_commits_fdatasync_runs_under_the_default_policy_and_the_writer_returns_to_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fdatasync
    during: list[int] = []

    def fdatasync(fd: int) -> None:
        during.append(os.sched_getscheduler(0))  # in the writer thread, inside the group commit
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    pseudonymise = Pseudonymiser(b"k" * 32)
    writer = LogWriter(WriterConfig(tmp_path / "log"), pseudonymise, key_id=pseudonymise.key_id).start()
    try:
        during.clear()  # the new file's own syncs at start ran in the caller's thread
        assert writer.wait(writer.submit({"decision_id": "d-1", "decision": "allow"}))
        assert during and set(during) == {os.SCHED_OTHER}
        thread = writer._thread
        assert thread is not None and thread.native_id is not None
        assert _policy(thread.native_id) == os.SCHED_BATCH  # back to batch once the call returned
    finally:
        writer.close()


def test_fdatasync_promptly_restores_batch_when_the_call_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    seen: dict[str, object] = {}

    def thread() -> None:
        assert batch_scheduling()
        try:
            fdatasync_promptly(-1, batch=True)
        except OSError as exc:
            seen["error"] = exc.errno
        seen["policy"] = os.sched_getscheduler(0)

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join()
    assert seen == {"error": 5, "policy": os.SCHED_BATCH}
