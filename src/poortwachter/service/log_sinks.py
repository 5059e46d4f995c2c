"""Where decision records go: one interface (:class:`LogSink`) and its backends.

:class:`~poortwachter.service.decision_log.DecisionLog` speaks to a :class:`LogSink` only; which one
is the ``decision_log`` setting's choice:

- :class:`WriterSink`: the durable folder writer (``poortwachter.logbook.writer``); answers wait in
  ``DurableAnswers`` until their records are on disk (``durable``);
- :class:`OutputSink` over an :class:`Output`: a stream of JSON lines (:class:`JsonLinesOutput`,
  stdout) written by a thread of its own, or a synchronous output that needs no thread
  (:class:`MemoryOutput` for tests, :class:`NullOutput` when logging is off).

A new backend (a message queue, a database) is one more :class:`LogSink`.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from ..logbook import pseudonym
from ..logbook.record import LogEvent, encode
from ..logbook.writer import LogHealth, LogTimeout, LogUnavailable, LogWriter
from . import metrics

if TYPE_CHECKING:  # the central store's shipper (and its driver, psycopg) only where the journal is shipped
    from ..logbook.central.ship import Shipper

__all__ = ["DEFAULT_WAIT_TIMEOUT", "JsonLinesOutput", "LogSink", "MemoryOutput", "NullOutput", "Output",
           "OutputSink", "WriterSink", "pending_records"]

log = logging.getLogger("poortwachter.decision_log")

DEFAULT_WAIT_TIMEOUT = 5.0
_STOP = object()

#: The sequence numbers of the records the current HTTP request produced (set by DurableAnswers).
pending_records: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("poortwachter_pending_records",
                                                                                   default=None)


class LogSink(Protocol):
    """What the decision log needs of a backend. ``record`` raises :class:`LogUnavailable` when the
    record cannot be taken (the caller then does not answer: fail closed)."""

    #: Answers wait (``settle``) until their records are durable.
    durable: bool
    #: The longest a request waits for the sink; also how long without progress counts as stuck.
    wait_timeout: float
    #: A watchdog thread must keep the health metric current (the sink works in a thread of its own).
    watched: bool

    def record(self, event: LogEvent) -> None: ...

    async def settle(self, seqs: list[int]) -> str | None: ...

    def kick(self) -> None: ...

    def health(self) -> LogHealth: ...

    def close(self, timeout: float) -> None: ...


class WriterSink:
    """The durable folder writer as a :class:`LogSink` (group commit; see logbook/writer.py)."""

    durable = True
    watched = True
    #: The shipper to the central store, when the journal is shipped (service/log_ship.py ``ShippingSink``).
    shipper: Shipper | None = None

    def __init__(self, writer: LogWriter) -> None:
        self.writer = writer
        self.wait_timeout = writer.config.wait_timeout

    def record(self, event: LogEvent) -> None:
        pending = pending_records.get()
        if pending is None:  # outside an HTTP request: nobody will wait, write soon
            self.writer.submit(event)
        else:  # DurableAnswers waits for it (and wakes the writer) when the answer is ready
            pending.append(self.writer.submit(event, wake=False))

    async def settle(self, seqs: list[int]) -> str | None:
        if not seqs:
            return None
        try:
            ok = await self.writer.wait_async(max(seqs))
        except LogTimeout as exc:
            return str(exc)
        if ok and all(self.writer.succeeded(s) for s in seqs):
            return None
        return self.writer.reason or "the decision record could not be written"

    def kick(self) -> None:
        self.writer.kick()

    def health(self) -> LogHealth:
        return self.writer.health()

    def close(self, timeout: float) -> None:
        if not self.writer.close(timeout):
            log.error("decision log closed with records unwritten: %s", self.writer.reason)


class Output(Protocol):
    """A plain destination for events, driven by :class:`OutputSink`."""

    #: True when write() is cheap and never blocks, so no writer thread is needed.
    synchronous: bool

    def write(self, event: LogEvent) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class NullOutput:
    """Discards events (decision logging switched off: benchmarks)."""

    synchronous = True

    def write(self, event: LogEvent) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class MemoryOutput:
    """Keeps the events as given in a list (tests); ``fail`` makes every write raise (fail-closed paths)."""

    synchronous = True

    def __init__(self) -> None:
        self.events: list[LogEvent] = []
        self.fail = False

    def write(self, event: LogEvent) -> None:
        if self.fail:
            raise OSError("memory sink set to fail")
        self.events.append(event)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class JsonLinesOutput:
    """One record per line on a binary stream (stdout); the identifying ids pseudonymised."""

    synchronous = False

    def __init__(self, stream: BinaryIO, pseudonymise: pseudonym.Pseudonymiser | None = None,
                 identifying: pseudonym.Identifying = pseudonym.ALL) -> None:
        self._stream = stream
        self._pseudonymise = pseudonymise or pseudonym.Pseudonymiser(os.urandom(32))
        self._identifying = identifying

    def write(self, event: LogEvent) -> None:
        line, _ = encode(event, self._pseudonymise, chained=False, identifying=self._identifying)  # never raises: a bad event is an error line
        self._stream.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.flush()


class OutputSink:
    """An :class:`Output` as a :class:`LogSink`: written in the caller's thread when it is synchronous,
    else through a bounded queue by a writer thread (back-pressure: a full queue makes ``record`` wait,
    at most ``wait_timeout``). No durability beyond the output itself."""

    durable = False

    def __init__(self, output: Output, capacity: int = 10_000, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        self.output = output
        self.wait_timeout = wait_timeout
        self._closed = False
        self._broken: str | None = None
        self._dead: str | None = None
        self._busy_since: float | None = None  # the drain thread is writing since (monotonic)
        self._give_up = threading.Event()  # set by close once its time is up: stop retrying a broken output
        self._queue: queue.Queue[Any] | None = None
        self._thread: threading.Thread | None = None
        if not output.synchronous:
            self._queue = queue.Queue(maxsize=capacity)
            self._thread = threading.Thread(target=self._drain, name="decision-log", daemon=True)
            self._thread.start()
        self.watched = self._thread is not None

    def health(self) -> LogHealth:
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

    def record(self, event: LogEvent) -> None:
        if self._closed:
            raise LogUnavailable("the decision log is closed")
        if self._queue is None:
            try:
                self.output.write(event)
            except Exception as exc:
                self._broken = f"{type(exc).__name__}: {exc}"
                raise LogUnavailable(self._broken) from exc
            self._broken = None
            return
        busy = self._busy_since
        if (self._broken is not None or self._dead is not None
                or (busy is not None and time.monotonic() - busy > self.wait_timeout)):
            raise LogUnavailable(self.health().detail or "the decision log is not available")
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._wait_for_room(event)

    def _wait_for_room(self, event: LogEvent) -> None:
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
        return None  # nothing to wait for: not durable

    def kick(self) -> None:
        pass

    def _drain(self) -> None:
        try:
            self._drain_loop()
        except BaseException as exc:  # noqa: BLE001 - the thread must not vanish silently
            self._dead = f"decision log writer thread died ({type(exc).__name__}: {exc}); restart the service"
            log.critical("%s", self._dead)

    def _drain_loop(self) -> None:
        """Write in order, flush per batch. A failed write (the output is broken) keeps the events and
        retries while ``record`` refuses new ones (fail closed); an event the output cannot take for
        another reason is reported and skipped, so one event never loops the writer."""
        assert self._queue is not None
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
                        self.output.flush()
                        return
                    try:
                        self.output.write(pending[0])
                    except (OSError, ValueError):
                        raise
                    except Exception as exc:  # noqa: BLE001 - not the output's fault: report, skip, go on
                        metrics.decision_log_flushed(1, 0.0, False)
                        log.error("decision log: event %s not written (%s: %s)",
                                  _decision_id(pending[0]), type(exc).__name__, exc)
                    pending.pop(0)
                self.output.flush()
                if self._broken is not None:
                    self._broken = None
                    metrics.decision_log_health(True)
            except (OSError, ValueError) as exc:  # the output is broken: keep the events, retry
                if self._broken is None:
                    metrics.decision_log_health(False)
                self._broken = f"{type(exc).__name__}: {exc}"
                log.error("decision log write failed (retrying): %s", self._broken)
                self._busy_since = time.monotonic()  # retrying is not being stuck: broken says it
                if self._give_up.wait(0.5):
                    while not self._queue.empty():
                        pending.append(self._queue.get_nowait())
                    unwritten = sum(e is not _STOP for e in pending)
                    log.error("decision log closed with %d event(s) unwritten: %s", unwritten, self._broken)
                    return

    def close(self, timeout: float) -> None:
        """Refuse new events, write everything queued, close the output."""
        self._closed = True
        if self._queue is not None and self._thread is not None:
            if self._thread.is_alive():
                try:
                    self._queue.put(_STOP, timeout=timeout)
                except queue.Full:
                    log.error("decision log: queue still full at shutdown; events lost")
                self._thread.join(timeout)
                self._give_up.set()  # still retrying a broken output: stop, say what is lost
                self._thread.join(1.0)
            else:
                log.error("decision log: writer thread dead at shutdown; %d events lost", self._queue.qsize())
        try:
            self.output.close()
        except Exception as exc:  # noqa: BLE001
            log.error("decision log: closing the sink failed: %s", exc)


def _decision_id(event: Any) -> Any:
    return event.get("decision_id") if isinstance(event, Mapping) else getattr(event, "decision_id", None)
