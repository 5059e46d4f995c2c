"""Issue 16: a decision log slower than the decisions slows the answers down, it does not refuse them.

Many concurrent batch requests go through the real ASGI app (its lifespan, middleware and routes) with
each sink made deliberately slow and its queue small, so the queue is full most of the time: every
answer must be a 200 and every decision must be in the log. Only a broken sink, or a wait longer than
``decision_log_wait_timeout``, may answer ``503 decision-log-unavailable``.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from support import wait_until

from poortwachter.logbook import query
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.logbook.writer import LogWriter, WriterConfig
from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, JsonLinesOutput, MemoryOutput, WriterSink
from poortwachter.service.settings import Settings

from .conftest import yc_request

PSEUDO = Pseudonymiser(b"0123456789abcdef0123456789abcdef")
CLIENTS, CALLS, ITEMS = 24, 4, 20  # 96 batch calls, 1,920 decisions
CAPACITY = 16  # queued records before a request must wait: full almost all the time under this load


class SlowStream(io.BytesIO):
    """A stdout that a slow collector reads: every write takes ``delay`` seconds (the GIL released)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def write(self, data: Any) -> int:
        threading.Event().wait(self.delay)
        return super().write(data)


class SlowMemory(MemoryOutput):
    """The synchronous sink, slow: the request itself waits for every write."""

    def write(self, event: Any) -> None:
        threading.Event().wait(0.0002)
        super().write(event)


def settings(bundle_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"bundles": bundle_dir, "dossier_type_bundles": {"jgz": "svc-jgz"}, "max_clock_skew": 0,
                              "allow_pinned_versions": True, "reload": "off", "decision_log": "off",
                              "trust_dev_key": True}  # the fixtures are signed with the DEV key
    values.update(overrides)
    return Settings(**values)


def batch(n: int) -> dict[str, Any]:
    return {"evaluations": [yc_request(subject_id=f"p-{n}-{k}") for k in range(ITEMS)]}


async def load(app: Any, clients: int = CLIENTS, calls: int = CALLS) -> list[int]:
    """``clients`` concurrent callers, each ``calls`` batch requests in a row: the status codes."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pw", timeout=60) as client:
            async def caller(c: int) -> list[int]:
                return [(await client.post("/access/v1/evaluations", json=batch(c * 100 + i))).status_code
                        for i in range(calls)]
            return [code for codes in await asyncio.gather(*(caller(c) for c in range(clients))) for code in codes]


def waited() -> float:
    return REGISTRY.get_sample_value("poortwachter_decision_log_wait_seconds_count") or 0.0


def folder_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync_delay: float,
               wait_timeout: float = 10.0) -> DecisionLog:
    real = os.fdatasync

    def slow(fd: int) -> None:
        threading.Event().wait(fsync_delay)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow)
    config = WriterConfig(directory=tmp_path / "log", max_pending=CAPACITY, wait_timeout=wait_timeout)
    return DecisionLog(WriterSink(LogWriter(config, PSEUDO, key_id=PSEUDO.key_id).start()))


def logged_lines(log: DecisionLog, tmp_path: Path, stream: io.BytesIO | None) -> int:
    if stream is not None:
        return len(stream.getvalue().splitlines())
    if isinstance(log.sink, WriterSink):
        return sum(1 for _ in query.read_records(tmp_path / "log"))
    sink = log.sink.output  # type: ignore[attr-defined]
    return len(sink.events)


SINKS = ("stdout", "folder", "memory")


@pytest.mark.parametrize("kind", SINKS)
def test_a_slow_sink_under_load_answers_every_request(kind: str, bundle_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stream = SlowStream(0.0003) if kind == "stdout" else None
    make: dict[str, Callable[[], DecisionLog]] = {
        "stdout": lambda: DecisionLog(JsonLinesOutput(stream, PSEUDO), capacity=CAPACITY,  # type: ignore[arg-type]
                                      wait_timeout=10.0),
        "folder": lambda: folder_log(tmp_path, monkeypatch, 0.004),
        "memory": lambda: DecisionLog(SlowMemory(), capacity=CAPACITY, wait_timeout=10.0),
    }
    log = make[kind]()
    before = waited()
    codes = asyncio.run(load(create_app(settings(bundle_dir), decision_log=log)))
    log.close()
    assert codes == [200] * (CLIENTS * CALLS)  # not one 503: the requests waited for the log instead
    assert logged_lines(log, tmp_path, stream) == CLIENTS * CALLS * ITEMS  # and every decision is in it
    if kind == "stdout":  # the queue was full: the waits are in the metric
        assert waited() > before
    if kind == "folder":
        assert log.writer is not None and log.writer.waited_for_room > 0


def test_a_broken_stdout_answers_503(bundle_dir: Path) -> None:
    class Broken(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(32, "Broken pipe")

    log = DecisionLog(JsonLinesOutput(Broken(), PSEUDO), capacity=CAPACITY, wait_timeout=10.0)
    codes = asyncio.run(load(create_app(settings(bundle_dir), decision_log=log), clients=4, calls=10))
    log.close(timeout=1)
    assert 503 in codes  # once the drain saw the broken pipe, decisions are refused (fail closed)


def test_closing_a_log_whose_output_stays_broken_ends_its_thread_and_says_what_was_lost(
        caplog: pytest.LogCaptureFixture) -> None:
    """Before, the drain thread retried the broken output forever after close (and kept logging)."""
    class Broken(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(32, "Broken pipe")

    log = DecisionLog(JsonLinesOutput(Broken(), PSEUDO), capacity=CAPACITY, wait_timeout=10.0)
    log.record({"decision_id": "d-1"})
    thread = log.sink._thread  # type: ignore[attr-defined]
    assert wait_until(lambda: not log.healthy, timeout=5)
    log.close(timeout=0.2)
    thread.join(2.0)
    assert not thread.is_alive()
    assert "closed with 1 event(s) unwritten" in caplog.text


def test_a_hanging_stdout_answers_503_after_the_wait_limit(bundle_dir: Path) -> None:
    release = threading.Event()

    class Hanging(io.BytesIO):
        def write(self, data: Any) -> int:
            release.wait(20)
            return super().write(data)

    log = DecisionLog(JsonLinesOutput(Hanging(), PSEUDO), capacity=CAPACITY, wait_timeout=0.3)
    app = create_app(settings(bundle_dir), decision_log=log)
    codes = asyncio.run(load(app, clients=2, calls=3))
    release.set()
    log.close(timeout=5)
    assert set(codes) <= {200, 503} and 503 in codes
    assert codes.count(200) <= 1  # at most the call whose records fitted into the empty queue


def test_a_broken_folder_answers_503(bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = folder_log(tmp_path, monkeypatch, 0.0)

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdatasync", fail)
    codes = asyncio.run(load(create_app(settings(bundle_dir), decision_log=log), clients=4, calls=3))
    log.close(timeout=1)
    assert codes == [503] * 12  # no answer leaves without its record


def test_a_hanging_folder_answers_503_after_the_wait_limit(bundle_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    log = folder_log(tmp_path, monkeypatch, 0.0, wait_timeout=0.3)
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (release.wait(20), real(fd)))
    codes = asyncio.run(load(create_app(settings(bundle_dir), decision_log=log), clients=2, calls=2))
    release.set()
    log.close(timeout=5)
    assert codes == [503] * 4
