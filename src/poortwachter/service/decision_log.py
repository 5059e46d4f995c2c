"""The decision log as the service sees it: ``record`` on the request path, durable before the answer.

``DecisionLog.record(event)`` never blocks a request: it hands the event to a queue (see
``poortwachter.logbook.writer``). What makes the log lose nothing that was acknowledged is
:class:`DurableAnswers`, an ASGI middleware: it holds back the start of every HTTP response until the
records that request produced are durably written (group commit: one ``write`` + ``fdatasync`` for
everything queued meanwhile). If they could not be written the answer is replaced by a 503 problem,
so no decision leaves the service without its record. When the log cannot take records at all
``record`` raises :class:`DecisionLogUnavailable` (the route answers 503; fail closed) and ``/readyz``
reports the reason.

Targets (setting ``decision_log``):

- a folder: rotating JSON-lines files with the durability guarantee above (production);
- ``stdout``: one JSON line per decision on standard output, flushed but not synced; for development
  and for platforms that collect container output (no guarantee beyond the pipe);
- ``off``: nothing is recorded (benchmarks only; not for real dossiers).

Every target writes the same record (``poortwachter.logbook.record``), with the client id pseudonymised.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import queue
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logbook import pseudonym
from ..logbook.record import to_record
from ..logbook.writer import Durability, LogUnavailable, LogWriter, WriterConfig
from . import metrics

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
        self._stream.write(orjson.dumps(to_record(event, self._pseudonymise), default=str) + b"\n")

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.flush()


_STOP = object()
WRITER_SWITCH_INTERVAL = 0.001  # seconds the decision log writer thread may wait for the GIL


class _Observer:
    def batch_written(self, records: int, seconds: float, ok: bool) -> None:
        metrics.decision_log_flushed(records, seconds, ok)

    def health_changed(self, healthy: bool, reason: str | None) -> None:
        metrics.decision_log_health(healthy)
        if healthy:
            log.warning("decision log writable again; accepting decisions")
        else:
            log.error("%s; refusing decisions until it can be written (fail closed)", reason)


class DecisionLog:
    """The service's decision log: a durable :class:`LogWriter` (folder) or a simple sink.

    ``record`` is the only call on the request path. With a writer it costs a lock, a list append and
    a context-variable read; the request's answer then waits in :class:`DurableAnswers`.
    """

    def __init__(self, sink: Sink | None = None, capacity: int = 10_000, *, writer: LogWriter | None = None) -> None:
        if (sink is None) == (writer is None):
            raise ValueError("give a sink or a writer")
        self.sink = sink
        self.writer = writer
        self._closed = False
        self._broken: str | None = None
        self._queue: queue.Queue[Any] | None = None
        self._thread: threading.Thread | None = None
        if sink is not None and not sink.synchronous:
            self._queue = queue.Queue(maxsize=capacity)
            self._thread = threading.Thread(target=self._drain, name="decision-log", daemon=True)
            self._thread.start()
        atexit.register(self.close)

    @property
    def durable(self) -> bool:
        """True when answers wait for their records to be on disk."""
        return self.writer is not None

    @property
    def healthy(self) -> bool:
        if self.writer is not None:
            return self.writer.healthy
        return not self._closed and self._broken is None

    @property
    def reason(self) -> str | None:
        """Why the log does not accept records (for /readyz), or None."""
        if self.writer is not None:
            return None if self.writer.healthy else (self.writer.reason or "the decision log is closed")
        if self._closed:
            return "the decision log is closed"
        return self._broken

    def record(self, event: Mapping[str, Any]) -> None:
        """Accept one decision event, or raise DecisionLogUnavailable (then: do not answer it)."""
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
        if self._broken is not None:
            raise DecisionLogUnavailable(self._broken)
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            raise DecisionLogUnavailable("the decision log queue is full") from None

    async def settle(self, seqs: list[int]) -> bool:
        """Wait until these records are durable; False if any of them could not be written."""
        if self.writer is None or not seqs:
            return True
        ok = await self.writer.wait_async(max(seqs))
        return ok and all(self.writer.succeeded(s) for s in seqs)

    def _drain(self) -> None:
        """Writer thread of a non-synchronous sink (stdout): write in order, flush per batch. A failed
        write keeps the events and retries while ``record`` refuses new ones (fail closed)."""
        assert self._queue is not None and self.sink is not None
        pending: list[Any] = []
        while True:
            if not pending:
                pending.append(self._queue.get())
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
                    self.sink.write(pending[0])
                    pending.pop(0)
                self.sink.flush()
                if self._broken is not None:
                    self._broken = None
                    metrics.decision_log_health(True)
            except Exception as exc:  # noqa: BLE001 - report, keep the events, retry
                if self._broken is None:
                    metrics.decision_log_health(False)
                self._broken = f"{type(exc).__name__}: {exc}"
                log.error("decision log write failed (retrying): %s", self._broken)
                threading.Event().wait(0.5)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new events, write everything queued (fsync), close. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.writer is not None:
            if not self.writer.close(timeout):
                log.error("decision log closed with records unwritten: %s", self.writer.reason)
            return
        if self._queue is not None and self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                log.error("decision log: queue still full at shutdown; events lost")
            self._thread.join(timeout)
        try:
            assert self.sink is not None
            self.sink.close()
        except Exception as exc:  # noqa: BLE001
            log.error("decision log: closing the sink failed: %s", exc)


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
            if message["type"] == "http.response.start" and pending and not await self.log.settle(list(pending)):
                replaced = True
                metrics.observe_error("decision-log-unavailable")
                await _refuse(send, self.log.reason or "the decision record could not be written")
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


def _setting(settings: Any, env: Mapping[str, str], name: str, default: Any) -> Any:
    """A decision-log knob from the settings model when it has it, else POORTWACHTER_<NAME>."""
    value = getattr(settings, name, None) if settings is not None else None
    if value is None:
        value = env.get("POORTWACHTER_" + name.upper())
    return default if value in (None, "") else value


def open_decision_log(target: str, capacity: int, settings: Any = None,
                      env: Mapping[str, str] | None = None) -> DecisionLog:
    """From the ``decision_log`` setting: 'off', 'stdout' or a folder (see the module docstring)."""
    env = os.environ if env is None else env
    if target == "off":
        log.warning("decision logging is OFF: no record of who accessed which dossier is kept")
        return DecisionLog(NullSink())
    enabled = str(_setting(settings, env, "decision_log_pseudonymise", "true")).lower() not in ("false", "0", "no")
    key_file = _setting(settings, env, "decision_log_key_file", None)
    folder = None if target == "stdout" else Path(target)
    state_dir = getattr(settings, "state_dir", None) if settings is not None else None
    generate_at = None
    if folder is not None:
        generate_at = Path(state_dir or folder.parent) / "decision-log.key"
    try:
        pseudonymiser, source = pseudonym.from_settings(env, Path(key_file) if key_file else None, enabled=enabled,
                                                        generate_at=generate_at)
    except pseudonym.PseudonymKeyError as exc:
        if folder is not None:
            from .settings import SettingsError

            raise SettingsError(f"decision log: {exc}") from None
        pseudonymiser, source = pseudonym.Pseudonymiser(os.urandom(32)), "a random key for this process only"
    if target == "stdout":
        log.info("decision log on stdout (no durability guarantee); client pseudonyms: %s", source)
        return DecisionLog(JsonLinesSink(sys.stdout.buffer, pseudonymiser), capacity)
    assert folder is not None
    if folder.is_file():
        raise ValueError(f"decision_log {folder} is a file; it must be a folder (files rotate inside it)")
    durability: Durability = str(_setting(settings, env, "decision_log_durability", "fsync"))  # type: ignore[assignment]
    config = WriterConfig(
        directory=folder, durability=durability,
        max_file_bytes=int(_setting(settings, env, "decision_log_max_file_bytes", 64 * 1024 * 1024)),
        rotate_seconds=int(_setting(settings, env, "decision_log_rotate_seconds", 86_400)),
        max_pending=capacity)
    # The event loop holds the GIL while busy; by default another thread gets it only every 5 ms, and
    # every answer waits for the writer thread. 1 ms cuts the tail (bench/decision_log_cost.py).
    sys.setswitchinterval(min(sys.getswitchinterval(), WRITER_SWITCH_INTERVAL))
    writer = LogWriter(config, pseudonymiser, key_id=pseudonymiser.key_id, observer=_Observer()).start()
    log.info("decision log in %s (durability %s); client pseudonyms: %s", folder, durability, source)
    if "NEW" in source:
        log.warning("decision log: %s", source)
    metrics.decision_log_health(True)
    return DecisionLog(writer=writer, capacity=capacity)
