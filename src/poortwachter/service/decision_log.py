"""The decision log as the service sees it: ``record`` on the request path, durable before the answer.

``DecisionLog.record(event)`` hands the event to a queue (see ``poortwachter.logbook.writer``); it
waits only when that queue is full (back-pressure), at most ``decision_log_wait_timeout``. What makes the log lose nothing that was acknowledged is
:class:`DurableAnswers`, an ASGI middleware: it holds back the start of every HTTP response until the
records that request produced are durably written (group commit: one ``write`` + ``fdatasync`` for
everything queued meanwhile). If they could not be written the answer is replaced by a 503 problem,
so no decision leaves the service without its record; so is an answer whose record is not durable
within ``decision_log_wait_timeout`` (a hanging disk). When the log cannot take records at all
``record`` raises :class:`DecisionLogUnavailable` (the route answers 503; fail closed) and ``/readyz``
reports the reason. :meth:`DecisionLog.health` is the truth for /readyz, /healthz (a dead writer) and
the ``decision_log_healthy`` metric, which a watchdog thread keeps current (a stuck writer cannot).

Targets (setting ``decision_log``):

- a folder: rotating JSON-lines files with the durability guarantee above (production);
- ``stdout``: one JSON line per decision on standard output, flushed but not synced; for development
  and for platforms that collect container output (no guarantee beyond the pipe);
- ``off``: nothing is recorded (benchmarks only; not for real dossiers).

Every target writes the same record (``poortwachter.logbook.record``), with the client id pseudonymised.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logbook import pseudonym
from ..logbook.record import encode
from ..logbook.writer import Durability, LogHealth, LogTimeout, LogUnavailable, LogWriter, WriterConfig
from . import metrics
from .settings import Settings, SettingsError, decision_log_key

log = logging.getLogger("poortwachter.decision_log")

# One exception for "not accepted": the writer's, so the service catches a single type.
DecisionLogUnavailable = LogUnavailable

# The sequence numbers of the records the current HTTP request produced (set by DurableAnswers).
_pending: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("poortwachter_pending_records",
                                                                             default=None)


class Sink(Protocol):
    #: True when write() is cheap and never blocks, so no writer thread is needed.
    synchronous: bool

    def write(self, event: Mapping[str, Any]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class NullSink:
    """Discards events (decision logging switched off: benchmarks)."""

    synchronous = True

    def write(self, event: Mapping[str, Any]) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class MemorySink:
    """Keeps the events as given in a list (tests); ``fail`` makes every write raise (fail-closed paths)."""

    synchronous = True

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.fail = False

    def write(self, event: Mapping[str, Any]) -> None:
        if self.fail:
            raise OSError("memory sink set to fail")
        self.events.append(event)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class JsonLinesSink:
    """One record per line on a binary stream (stdout); the client id pseudonymised."""

    synchronous = False

    def __init__(self, stream: BinaryIO, pseudonymise: pseudonym.Pseudonymiser | None = None) -> None:
        self._stream = stream
        self._pseudonymise = pseudonymise or pseudonym.Pseudonymiser(os.urandom(32))

    def write(self, event: Mapping[str, Any]) -> None:
        line, _ = encode(event, self._pseudonymise, chained=False)  # never raises: a bad event is an error line
        self._stream.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.flush()


_STOP = object()
WRITER_SWITCH_INTERVAL = 0.001  # seconds the writer thread may wait for the GIL (set by the server process)
DEFAULT_WAIT_TIMEOUT = 5.0
WATCH_SECONDS = 1.0  # the health watchdog looks this often (at most)


class _Observer:
    def batch_written(self, records: int, seconds: float, ok: bool) -> None:
        metrics.decision_log_flushed(records, seconds, ok)

    def health_changed(self, healthy: bool, reason: str | None) -> None:
        metrics.decision_log_health(healthy)
        if healthy:
            log.warning("decision log writable again; accepting decisions")
        else:
            log.error("%s; refusing decisions until it can be written (fail closed)", reason)

    def waited(self, seconds: float) -> None:
        metrics.decision_log_waited(seconds)

    def timed_out(self, stage: str) -> None:
        metrics.decision_log_timeout(stage)


class DecisionLog:
    """The service's decision log: a durable :class:`LogWriter` (folder) or a simple sink.

    ``record`` is the only call on the request path. With a writer it costs a lock, a list append and
    a context-variable read; the request's answer then waits in :class:`DurableAnswers`.
    """

    def __init__(self, sink: Sink | None = None, capacity: int = 10_000, *, writer: LogWriter | None = None,
                 wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        if (sink is None) == (writer is None):
            raise ValueError("give a sink or a writer")
        self.sink = sink
        self.writer = writer
        self.wait_timeout = writer.config.wait_timeout if writer is not None else wait_timeout
        self._closed = False
        self._broken: str | None = None
        self._dead: str | None = None
        self._busy_since: float | None = None  # the drain thread is writing since (monotonic)
        self._queue: queue.Queue[Any] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        if sink is not None and not sink.synchronous:
            self._queue = queue.Queue(maxsize=capacity)
            self._thread = threading.Thread(target=self._drain, name="decision-log", daemon=True)
            self._thread.start()
        if writer is not None or self._thread is not None:
            threading.Thread(target=self._watch, name="decision-log-watchdog", daemon=True).start()

    @property
    def durable(self) -> bool:
        """True when answers wait for their records to be on disk."""
        return self.writer is not None

    def health(self) -> LogHealth:
        """Dead (the writer thread is gone: restart), closed, broken (unwritable), stuck (no progress
        for ``wait_timeout`` while records wait), or ok. Also brings the metric up to date."""
        health = self._health()
        metrics.decision_log_health(health.ok)
        return health

    def _health(self) -> LogHealth:
        if self.writer is not None:
            return self.writer.health()
        if self._dead is None and self._thread is not None and not self._thread.is_alive() and not self._closed:
            self._dead = "decision log writer thread is not running"
        if self._dead is not None:
            return LogHealth(False, False, self._dead)
        if self._closed:
            return LogHealth(False, True, "the decision log is closed")
        if self._broken is not None:
            return LogHealth(False, True, self._broken)
        busy = self._busy_since
        if busy is not None and time.monotonic() - busy > self.wait_timeout:
            return LogHealth(False, True, f"decision log writer made no progress for {time.monotonic() - busy:.1f} s "
                                          f"(output blocked?)")
        return LogHealth(True)

    def _watch(self) -> None:
        """Keeps ``decision_log_healthy`` true to a writer that is stuck or dead (it cannot report itself)."""
        interval = min(WATCH_SECONDS, self.wait_timeout / 2)
        while not self._stop.wait(interval):
            self.health()

    @property
    def healthy(self) -> bool:
        return self.health().ok

    @property
    def reason(self) -> str | None:
        """Why the log does not accept records (for /readyz), or None."""
        return self.health().detail

    def record(self, event: Mapping[str, Any]) -> None:
        """Accept one decision event, or raise DecisionLogUnavailable (then: do not answer it).

        A full queue makes the caller wait for room (back-pressure), at most ``wait_timeout``."""
        if self.writer is not None:
            pending = _pending.get()
            if pending is None:  # outside an HTTP request: nobody will wait, write soon
                self.writer.submit(event)
            else:  # DurableAnswers waits for it (and wakes the writer) when the answer is ready
                pending.append(self.writer.submit(event, wake=False))
            return
        if self._closed:
            raise DecisionLogUnavailable("the decision log is closed")
        assert self.sink is not None
        if self._queue is None:
            try:
                self.sink.write(event)
            except Exception as exc:
                self._broken = f"{type(exc).__name__}: {exc}"
                raise DecisionLogUnavailable(self._broken) from exc
            self._broken = None
            return
        busy = self._busy_since
        if (self._broken is not None or self._dead is not None
                or (busy is not None and time.monotonic() - busy > self.wait_timeout)):
            raise DecisionLogUnavailable(self._health().detail or "the decision log is not available")
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._wait_for_room(event)

    def _wait_for_room(self, event: Mapping[str, Any]) -> None:
        assert self._queue is not None
        started = time.monotonic()
        try:
            self._queue.put(event, timeout=self.wait_timeout)
        except queue.Full:
            metrics.decision_log_timeout("queue")
            raise LogTimeout(f"decision log queue full: no room for {self.wait_timeout:g} s "
                             f"(output too slow or blocked)") from None
        metrics.decision_log_waited(time.monotonic() - started)

    async def settle(self, seqs: list[int]) -> str | None:
        """Wait until these records are durable: None, or why they are not (then: do not answer)."""
        if self.writer is None or not seqs:
            return None
        try:
            ok = await self.writer.wait_async(max(seqs))
        except LogTimeout as exc:
            return str(exc)
        if ok and all(self.writer.succeeded(s) for s in seqs):
            return None
        return self.writer.reason or "the decision record could not be written"

    def _drain(self) -> None:
        try:
            self._drain_loop()
        except BaseException as exc:  # noqa: BLE001 - the thread must not vanish silently
            self._dead = f"decision log writer thread died ({type(exc).__name__}: {exc}); restart the service"
            log.critical("%s", self._dead)

    def _drain_loop(self) -> None:
        """Writer thread of a non-synchronous sink (stdout): write in order, flush per batch. A failed
        write (the output is broken) keeps the events and retries while ``record`` refuses new ones
        (fail closed); an event the sink cannot take for another reason is reported and skipped, so
        one event never loops the writer."""
        assert self._queue is not None and self.sink is not None
        pending: list[Any] = []
        while True:
            if not pending:
                self._busy_since = None
                pending.append(self._queue.get())
            self._busy_since = time.monotonic()
            while len(pending) < 1000:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                while pending:
                    if pending[0] is _STOP:
                        self.sink.flush()
                        return
                    try:
                        self.sink.write(pending[0])
                    except (OSError, ValueError):
                        raise
                    except Exception as exc:  # noqa: BLE001 - not the output's fault: report, skip, go on
                        metrics.decision_log_flushed(1, 0.0, False)
                        log.error("decision log: event %s not written (%s: %s)",
                                  _decision_id(pending[0]), type(exc).__name__, exc)
                    pending.pop(0)
                self.sink.flush()
                if self._broken is not None:
                    self._broken = None
                    metrics.decision_log_health(True)
            except (OSError, ValueError) as exc:  # the output is broken: keep the events, retry
                if self._broken is None:
                    metrics.decision_log_health(False)
                self._broken = f"{type(exc).__name__}: {exc}"
                log.error("decision log write failed (retrying): %s", self._broken)
                self._busy_since = time.monotonic()  # retrying is not being stuck: broken says it
                threading.Event().wait(0.5)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new events, write everything queued (fsync), close. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self.writer is not None:
            if not self.writer.close(timeout):
                log.error("decision log closed with records unwritten: %s", self.writer.reason)
            return
        if self._queue is not None and self._thread is not None:
            if self._thread.is_alive():
                try:
                    self._queue.put(_STOP, timeout=timeout)
                except queue.Full:
                    log.error("decision log: queue still full at shutdown; events lost")
                self._thread.join(timeout)
            else:
                log.error("decision log: writer thread dead at shutdown; %d events lost", self._queue.qsize())
        try:
            assert self.sink is not None
            self.sink.close()
        except Exception as exc:  # noqa: BLE001
            log.error("decision log: closing the sink failed: %s", exc)


def _decision_id(event: Any) -> Any:
    return event.get("decision_id") if isinstance(event, Mapping) else None


class DurableAnswers:
    """ASGI middleware: a response starts only after the request's decision records are durable.

    Records are collected per request through a context variable that ``DecisionLog.record`` appends
    to (the route's thread or task inherits it). If a record could not be written, the answer is
    replaced by ``503 decision-log-unavailable``: a decision without its record is never given.
    """

    def __init__(self, app: ASGIApp, decision_log: DecisionLog) -> None:
        self.app = app
        self.log = decision_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.log.durable:
            await self.app(scope, receive, send)
            return
        pending: list[int] = []
        token = _pending.set(pending)
        replaced = False

        async def send_when_durable(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the original body of a replaced answer is dropped
            if message["type"] == "http.response.start" and pending:
                why = await self.log.settle(list(pending))
                if why is not None:
                    replaced = True
                    metrics.observe_error("decision-log-unavailable")
                    await _refuse(send, why)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_when_durable)
        finally:
            _pending.reset(token)
            if pending and self.log.writer is not None:
                self.log.writer.kick()  # records of an answer that never started (an error path)


async def _refuse(send: Send, reason: str) -> None:
    from .problems import Problem

    problem = Problem(503, "decision-log-unavailable",
                      f"the decision could not be recorded ({reason}); not decided (fail closed)",
                      headers={"Retry-After": "1"})
    response = problem.response()
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def open_decision_log(target: str, capacity: int, settings: Settings,
                      env: Mapping[str, str] | None = None) -> DecisionLog:
    """From the ``decision_log`` setting: 'off', 'stdout' or a folder (see the module docstring). Every knob
    comes from ``settings``; the pseudonymisation key may come from ``env`` (settings.decision_log_key)."""
    if target == "off":
        log.warning("decision logging is OFF: no record of who accessed which dossier is kept")
        return DecisionLog(NullSink())
    wait_timeout = settings.decision_log_wait_timeout
    key_file = settings.decision_log_key_file
    folder = None if target == "stdout" else Path(target)
    generate_at = None
    if folder is not None:
        generate_at = Path(settings.state_dir or folder.parent) / "decision-log.key"
    try:
        pseudonymiser, source = pseudonym.from_settings(decision_log_key(env), key_file,
                                                        enabled=settings.decision_log_pseudonymise,
                                                        generate_at=generate_at)
    except pseudonym.PseudonymKeyError as exc:
        if folder is not None:
            raise SettingsError(f"decision log: {exc}") from None
        pseudonymiser, source = pseudonym.Pseudonymiser(os.urandom(32)), "a random key for this process only"
    if target == "stdout":
        log.info("decision log on stdout (no durability guarantee); client pseudonyms: %s", source)
        return DecisionLog(JsonLinesSink(sys.stdout.buffer, pseudonymiser), capacity, wait_timeout=wait_timeout)
    assert folder is not None
    if folder.is_file():
        raise ValueError(f"decision_log {folder} is a file; it must be a folder (files rotate inside it)")
    durability: Durability = settings.decision_log_durability
    config = WriterConfig(directory=folder, durability=durability,
                          max_file_bytes=settings.decision_log_max_file_bytes,
                          rotate_seconds=settings.decision_log_rotate_seconds,
                          max_pending=capacity, wait_timeout=wait_timeout)
    writer = LogWriter(config, pseudonymiser, key_id=pseudonymiser.key_id, observer=_Observer()).start()
    log.info("decision log in %s (durability %s); client pseudonyms: %s", folder, durability, source)
    if "NEW" in source:
        log.warning("decision log: %s", source)
    metrics.decision_log_health(True)
    return DecisionLog(writer=writer, capacity=capacity)
