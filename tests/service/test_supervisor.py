"""A worker that dies while its supervisor waits for its pong is noticed at once (service/supervisor.py).

uvicorn's supervisor pings each worker every 0.5 s and waits up to ``timeout_worker_healthcheck`` (30 s
in serve) for the answer. The parent holds both ends of the ping pipe, so a worker killed between the
ping and its pong never shows as a closed pipe: uvicorn's own check waited the whole limit while the
other workers carried all the load (seen in the full suite: a kill -9 of one worker under load was
replaced after 30.1 s instead of 0.5 s).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn.supervisors.multiprocess as uvicorn_multiprocess

from poortwachter.service import supervisor
from poortwachter.service.supervisor import WatchedWorker


@contextmanager
def _silent_worker(kind: type[uvicorn_multiprocess.Process]) -> Iterator[uvicorn_multiprocess.Process]:
    """A supervised worker that never answers a ping (as one busy or dying between ping and pong)."""
    worker = kind.__new__(kind)
    worker.parent_conn, worker.child_conn = multiprocessing.Pipe()
    worker.process = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,), daemon=True)
    worker.process.start()
    try:
        yield worker
    finally:
        worker.process.kill()
        worker.process.join(10)


def _checked_after_kill(worker: uvicorn_multiprocess.Process, limit: float) -> tuple[bool, float]:
    """Kill the worker 0.3 s into the supervisor's health check: (its verdict, seconds the check took)."""
    pid = worker.process.pid
    assert pid is not None
    threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
    started = time.monotonic()
    alive = worker.is_alive(timeout=limit)
    return alive, time.monotonic() - started


# uvicorn's own class: not read from its module, where a test that runs ``serve`` in-process has installed ours
UVICORN_PROCESS: type[uvicorn_multiprocess.Process] = WatchedWorker.__base__  # type: ignore[assignment]


def test_uvicorns_own_check_waits_the_whole_limit_for_a_worker_killed_mid_ping() -> None:
    """The defect the supervisor module exists for; if uvicorn fixes it, this fails and the module can go."""
    assert UVICORN_PROCESS.__module__ == "uvicorn.supervisors.multiprocess"
    with _silent_worker(UVICORN_PROCESS) as worker:
        alive, took = _checked_after_kill(worker, limit=2.0)
    assert not alive
    assert took >= 2.0


def test_a_worker_killed_mid_ping_is_reported_dead_at_once() -> None:
    with _silent_worker(WatchedWorker) as worker:
        alive, took = _checked_after_kill(worker, limit=30.0)
    assert not alive
    assert took < 5.0, f"the supervisor noticed the dead worker after {took:.1f} s"


def test_a_live_worker_that_answers_is_alive_and_its_startup_flag_is_read() -> None:
    worker = WatchedWorker.__new__(WatchedWorker)
    worker.parent_conn, worker.child_conn = multiprocessing.Pipe()
    worker.process = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,), daemon=True)
    worker.process.start()
    try:
        answer = threading.Thread(target=lambda: (worker.child_conn.recv(), worker.child_conn.send(True)))
        answer.start()
        assert worker.is_ready(timeout=10)
        answer.join(5)
        assert not worker.ping(timeout=0.2), "nobody answered this ping: not alive"
    finally:
        worker.process.kill()
        worker.process.join(10)


def test_serve_installs_the_watched_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvicorn_multiprocess, "Process", UVICORN_PROCESS)
    supervisor.install()
    assert uvicorn_multiprocess.Process is WatchedWorker
