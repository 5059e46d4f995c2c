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

Each target is a :class:`~poortwachter.service.log_sinks.LogSink` (service/log_sinks.py); every one
writes the same record (``poortwachter.logbook.record``), with the client id pseudonymised.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logbook import checkpoint, pseudonym
from ..logbook.record import LogEvent
from ..logbook.writer import Durability, LogHealth, LogUnavailable, LogWriter, WriterConfig
from . import metrics
from .log_sinks import (
    DEFAULT_WAIT_TIMEOUT,
    JsonLinesOutput,
    LogSink,
    MemoryOutput,
    NullOutput,
    Output,
    OutputSink,
    WriterSink,
    pending_records,
)
from .settings import Settings, SettingsError, decision_log_key, decision_log_signing_key

if TYPE_CHECKING:  # the central store and its driver (psycopg) are imported only where the journal is shipped
    from ..logbook.central.ship import Shipper
    from .log_ship import Shipping

__all__ = ["DEFAULT_WAIT_TIMEOUT", "WRITER_SWITCH_INTERVAL", "DecisionLog", "DecisionLogUnavailable", "DurableAnswers",
           "JsonLinesOutput", "LogSink", "MemoryOutput", "NullOutput", "Output", "OutputSink", "WriterSink",
           "open_decision_log", "start_shipping"]

log = logging.getLogger("poortwachter.decision_log")

# One exception for "not accepted": the writer's, so the service catches a single type.
DecisionLogUnavailable = LogUnavailable



WRITER_SWITCH_INTERVAL = 0.001  # seconds the writer thread may wait for the GIL (set by the server process)
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
    """The service's decision log over one :class:`LogSink` (service/log_sinks.py): the durable folder
    writer, or an :class:`Output` (stdout, memory, off) that is wrapped in an :class:`OutputSink`.

    ``record`` is the only call on the request path. With the folder writer it costs a lock, a list
    append and a context-variable read; the request's answer then waits in :class:`DurableAnswers`.
    """

    def __init__(self, sink: LogSink | Output, capacity: int = 10_000, *,
                 wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> None:
        self.sink = _as_sink(sink, capacity, wait_timeout)
        self.wait_timeout = self.sink.wait_timeout
        self._closed = False
        self._stop = threading.Event()
        if self.sink.watched:
            threading.Thread(target=self._watch, name="decision-log-watchdog", daemon=True).start()

    @property
    def durable(self) -> bool:
        """True when answers wait for their records to be on disk."""
        return self.sink.durable

    @property
    def writer(self) -> LogWriter | None:
        """The folder writer, when that is the sink."""
        return self.sink.writer if isinstance(self.sink, WriterSink) else None

    @property
    def shipper(self) -> Shipper | None:
        """The shipper to the central store, when the journal is shipped (service/log_ship.py)."""
        return self.sink.shipper if isinstance(self.sink, WriterSink) else None

    @property
    def discards(self) -> bool:
        """Logging is off: callers need not even build events."""
        return isinstance(self.sink, OutputSink) and isinstance(self.sink.output, NullOutput)

    def health(self) -> LogHealth:
        """Dead (the writer thread is gone: restart), closed, broken (unwritable), stuck (no progress
        for ``wait_timeout`` while records wait), or ok. Also brings the metric up to date."""
        health = self.sink.health()
        metrics.decision_log_health(health.ok)
        return health

    def _watch(self) -> None:
        """Keeps ``decision_log_healthy`` true to a writer that is stuck or dead (it cannot report itself).

        Writes the gauge only when this log's health changes: the gauge is one per process, and a second
        log in it (a test's) must not paint a dead writer healthy again between two ticks."""
        interval = min(WATCH_SECONDS, self.wait_timeout / 2)
        reported = True  # open_decision_log reports a new log healthy
        while not self._stop.wait(interval):
            ok = self.sink.health().ok
            if ok != reported:
                metrics.decision_log_health(ok)
                reported = ok

    @property
    def healthy(self) -> bool:
        return self.health().ok

    @property
    def reason(self) -> str | None:
        """Why the log does not accept records (for /readyz), or None."""
        return self.health().detail

    def record(self, event: LogEvent) -> None:
        """Accept one decision event, or raise DecisionLogUnavailable (then: do not answer it).

        A full queue makes the caller wait for room (back-pressure), at most ``wait_timeout``."""
        self.sink.record(event)

    async def settle(self, seqs: list[int]) -> str | None:
        """Wait until these records are durable: None, or why they are not (then: do not answer)."""
        return await self.sink.settle(seqs)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new events, write everything queued (fsync), close. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self.sink.close(timeout)


def _as_sink(sink: LogSink | Output, capacity: int, wait_timeout: float) -> LogSink:
    if callable(getattr(sink, "record", None)):
        return cast(LogSink, sink)
    return OutputSink(cast(Output, sink), capacity, wait_timeout)


class DurableAnswers:
    """ASGI middleware: a response starts only after the request's decision records are durable.

    Records are collected per request through a context variable that ``DecisionLog.record`` appends
    to (the route's thread or task inherits it). If a record could not be written, the answer is
    replaced by ``503 decision-log-unavailable``: a decision without its record is never given.
    """

    def __init__(self, app: ASGIApp, decision_log: DecisionLog) -> None:
        self.app = app
        self.decision_log = decision_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.decision_log.durable:
            await self.app(scope, receive, send)
            return
        pending: list[int] = []
        token = pending_records.set(pending)
        replaced = settled = False

        async def send_when_durable(message: Message) -> None:
            nonlocal replaced, settled
            if replaced:
                return  # the original body of a replaced answer is dropped
            if message["type"] == "http.response.start" and pending:
                settled = True  # the wait below wakes the writer
                why = await self.decision_log.settle(list(pending))
                if why is not None:
                    replaced = True
                    metrics.observe_error("decision-log-unavailable")
                    await _refuse(send, why)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_when_durable)
        finally:
            pending_records.reset(token)
            if pending and not settled:
                self.decision_log.sink.kick()  # records of an answer that never started (an error path)


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
    if settings.decision_log_ship and target in ("off", "stdout"):
        raise SettingsError(f"decision_log_ship ships the journal folder: decision_log must be a folder, not {target}")
    if target == "off":
        log.warning("decision logging is OFF: no record of who accessed which dossier is kept")
        return DecisionLog(NullOutput())
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
    identifying = pseudonym.Identifying(subject=settings.decision_log_pseudonymise_subject,
                                        item=settings.decision_log_pseudonymise_item)
    if target == "stdout":
        log.info("decision log on stdout (no durability guarantee); client pseudonyms: %s", source)
        return DecisionLog(JsonLinesOutput(sys.stdout.buffer, pseudonymiser, identifying), capacity,
                           wait_timeout=wait_timeout)
    assert folder is not None
    if folder.is_file():
        raise SettingsError(f"decision_log {folder} is a file; it must be a folder (files rotate inside it)")
    durability: Durability = settings.decision_log_durability
    config = WriterConfig(directory=folder, durability=durability,
                          max_file_bytes=settings.decision_log_max_file_bytes,
                          rotate_seconds=settings.decision_log_rotate_seconds,
                          max_pending=capacity, wait_timeout=wait_timeout)
    try:
        signer, signed_by = checkpoint.signer_from_settings(
            decision_log_signing_key(env), settings.decision_log_signing_key_file,
            generate_at=Path(settings.state_dir or folder.parent) / "decision-log-signing.key")
    except checkpoint.LogKeyError as exc:
        raise SettingsError(f"decision log: {exc}") from None
    writer = LogWriter(config, pseudonymiser, key_id=pseudonymiser.key_id, observer=_Observer(), signer=signer,
                       identifying=identifying).start()
    log.info("decision log in %s (durability %s); pseudonyms: %s; checkpoints signed by: %s", folder, durability,
             source, signed_by)
    for made in (source, signed_by):
        if "NEW" in made:
            log.warning("decision log: %s", made)
    metrics.decision_log_health(True)
    if settings.decision_log_ship:  # the journal is shipped to the central store (service/log_ship.py)
        from . import log_ship  # the store's driver (psycopg) is imported only by a service that ships

        return DecisionLog(log_ship.shipping_sink(writer, folder, settings))
    return DecisionLog(WriterSink(writer))


def start_shipping(log: DecisionLog) -> Shipping | None:
    """Start this worker's shipper thread when the journal is shipped (the lifespan calls this); None otherwise."""
    if log.shipper is None:
        return None
    from .log_ship import Shipping

    return Shipping(log.shipper).start()
