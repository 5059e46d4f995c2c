"""The decision log writer: a queue, one writer thread, group commit, rotation.

Guarantee (durability ``fsync``, the default): **a decision is answered only after its record is on
disk.** The request path appends the event to an in-memory queue (:meth:`LogWriter.submit`, a lock
and a list append) and gets a sequence number; before the HTTP answer leaves, the service awaits
:meth:`LogWriter.wait_async` for that number, which wakes the writer once the event loop has decided
every request it had ready (:meth:`LogWriter._kick_planned`). The writer thread takes *everything*
queued at once, links it into the hash chain, writes it with one ``write`` and one ``fdatasync`` and
then releases all the waiting requests together (group commit): under load one fsync covers many
decisions, so the cost per decision falls as concurrency rises. SIGKILL, a crash or power loss can
therefore lose only records whose requests were never answered.

Durability ``write`` answers after the ``write`` into the kernel's page cache: a killed process loses
nothing, a power failure may lose the last second (the writer fsyncs at most ``sync_seconds`` apart).

When the log cannot be written (disk full, I/O error, a lost volume) the batch's requests are told so
(the service answers 503, never the decision) and the writer turns unhealthy: :meth:`submit` raises
:class:`LogUnavailable` at once, the service fails closed and ``/readyz`` says why. The writer then
tries a fresh file every ``retry_seconds`` (a file it could not start is removed again, so a full disk
does not fill up with empty files) and turns healthy again when that works. There is no spill buffer:
an unwritable log stops decisions rather than risk evidence (documented in docs/operations.md).

Nothing a request sends can stop the writer (security review, issue 17): records are built from
bounded values and serialised per record by :meth:`submit`, on the caller's thread (:func:`record.prepare`
never raises: one that cannot be encoded becomes an error record and only its own request is refused;
the writer thread adds the chain link, :func:`record.link`), every batch is guarded, and if the thread dies
anyway :meth:`health` says so and every waiting request is released. Every wait is bounded by
``wait_timeout``: a full queue makes :meth:`submit` wait for room (back-pressure: a slow disk slows
the requests down instead of refusing them) and raise :class:`LogTimeout` only after that long; a
record not durable in time makes :meth:`wait_async` raise :class:`LogTimeout`. A writer that makes
no progress for ``wait_timeout`` while records wait reports itself unhealthy (stuck) until it moves.

The waiting requests' futures and how the writer's threads release them are waiters.py's; how the
writer thread is scheduled (``SCHED_BATCH``, its ``fdatasync`` under the default policy) is
scheduling.py's. Files, the hash chain, the signed checkpoints and rotation are segment.py's (the
writer thread's side); a file is closed and a new one opened when it would pass ``max_file_bytes`` or
when a ``rotate_seconds`` boundary (UTC, e.g. midnight for 86400) passes. The writer never deletes:
retention is the operator's (10 years, toolkit-jgz-2026 §6.5.1).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import record
from .checkpoint import Signer
from .pseudonym import ALL, Identifying
from .record import DecisionEvent
from .scheduling import batch_scheduling, fdatasync_promptly
from .segment import Segments, write_all
from .terms import Durability, LogHealth, LogTimeout, LogUnavailable, NoObserver, Observer, WriterConfig
from .waiters import Waiter, Waiters, expire, release

LINGER_SECONDS = 0.05  # a record nobody waits for is written within about twice this
MAX_FAILED_RANGES = 4096
__all__ = ["Durability", "LogHealth", "LogTimeout", "LogUnavailable", "LogWriter", "Observer", "WriterConfig"]


Batch = list[tuple[int, record.Prepared]]


class LogWriter:
    """See the module docstring. Thread-safe; one instance per process and log directory."""

    def __init__(self, config: WriterConfig, pseudonymise: Callable[[str], str], *, key_id: str = "",
                 observer: Observer | None = None, clock: Callable[[], float] = time.time,
                 signer: Signer | None = None, identifying: Identifying = ALL) -> None:
        self.config = config
        self._pseudonymise = pseudonymise
        self._identifying = identifying
        self._key_id = key_id
        self._observer = observer or NoObserver()
        self._clock = clock
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._queue: Batch = []
        self._seq = 0
        self._done = 0
        self._progress_at = time.monotonic()  # last batch completed, or the first record after idling
        self._failed: list[tuple[int, int]] = []
        self._waiters = Waiters()
        self._stuck_reason: str | None = None  # set by the watchdog thread, cleared by progress
        self._stop = threading.Event()
        self._closing = False
        self._kicked = False
        self._kicks_planned: set[asyncio.AbstractEventLoop] = set()  # loops that will wake the writer (_kick_planned)
        self._healthy = True
        self._reason: str | None = None
        self._dead: str | None = None
        self._thread: threading.Thread | None = None
        self.waited_for_room = 0  # submits that found the queue full and waited (back-pressure)
        # writer-thread state
        self._files = Segments(config.directory, signer, key_id=key_id, durability=config.durability, clock=clock)
        self._rotate_at = 0.0
        self._last_sync = 0.0
        self._head_synced = 0.0
        self._batch_scheduled = False  # the thread runs under SCHED_BATCH (scheduling.py)

    @property
    def files_opened(self) -> int:
        return self._files.opened

    # ---- request side -------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self.health().ok

    @property
    def reason(self) -> str | None:
        return self.health().detail

    @property
    def pending(self) -> int:
        return self._seq - self._done

    def health(self) -> LogHealth:
        """The truth for /readyz, /healthz and the metric: dead, closing, unwritable, stuck or ok."""
        with self._lock:
            return self._health()

    def _health(self) -> LogHealth:
        if self._dead is None and self._thread is not None and not self._thread.is_alive() and not self._closing:
            self._dead = "decision log writer thread is not running"
        if self._dead is not None:
            return LogHealth(False, False, self._dead)
        if self._closing:
            return LogHealth(False, True, "decision log is closing")
        if not self._healthy:
            return LogHealth(False, True, self._reason or "decision log unwritable")
        stuck = self._stuck()
        return LogHealth(False, True, stuck) if stuck else LogHealth(True)

    def _stuck(self) -> str | None:
        """With the lock held: why the writer counts as stuck (records wait, no progress), or None."""
        waiting = self._seq - self._done
        if waiting:
            idle = time.monotonic() - self._progress_at
            if idle > self.config.wait_timeout:
                return (f"decision log writer made no progress for {idle:.1f} s with {waiting} record(s) waiting "
                        f"(storage hanging?)")
        return None

    def _check(self, *, stuck: bool = True) -> None:
        """With the lock held: raise LogUnavailable unless records can be accepted now (fail closed).
        Flags only (the request path): the watchdog thread keeps ``_stuck_reason`` current."""
        if self._dead is not None or self._closing or not self._healthy or (stuck and self._stuck_reason):
            raise LogUnavailable(self._health().detail or self._stuck_reason)

    def submit(self, event: DecisionEvent | Mapping[str, Any], *, wake: bool = True) -> int:
        """Queue one event; its sequence number, to wait on. Raises LogUnavailable (fail closed).

        When ``max_pending`` records are queued the caller waits for room, at most ``wait_timeout``
        (then :class:`LogTimeout`): back-pressure, so a sink slower than the decisions slows them down
        instead of refusing them. ``wake=False`` leaves the writer asleep until somebody waits
        (:meth:`wait_async` has it woken once the event loop's turn is done) or ``LINGER_SECONDS``
        pass: a request that produces many records (a batch) then wakes the writer once, when it is
        done, instead of handing the GIL back and forth with it for every record. The record is
        serialised here, on the caller's thread; the writer only links it into the chain.
        """
        prepared = record.prepare(event, self._pseudonymise, self._identifying)  # why here: record.Prepared
        with self._lock:
            self._check()
            if len(self._queue) >= self.config.max_pending:
                self._wait_for_room()
            if self._seq == self._done:  # the first record after idling: progress is measured from now
                self._progress_at = time.monotonic()
            self._seq += 1
            self._queue.append((self._seq, prepared))
            if wake:
                self._wake()
            return self._seq

    def _wait_for_room(self) -> None:
        """With the lock held: wait until the writer takes the queue, at most wait_timeout."""
        started = time.monotonic()
        deadline = started + self.config.wait_timeout
        self._kicked = False
        self._wake()  # records queued with wake=False: the writer must take them now
        while len(self._queue) >= self.config.max_pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._observer.timed_out("queue")
                raise LogTimeout(f"decision log queue full: no room for {self.config.wait_timeout:g} s "
                                 f"({len(self._queue)} records queued; storage too slow or hanging)")
            self._room.wait(remaining)
            self._check(stuck=False)
        self.waited_for_room += 1
        self._observer.waited(time.monotonic() - started)

    def kick(self) -> None:
        """Write whatever is queued now (nobody may be waiting for it)."""
        with self._lock:
            self._wake()

    def _wake(self) -> None:
        """With the lock held: have the writer take the queue now."""
        if self._queue and not self._kicked:
            self._kicked = True
            self._has_work.notify()

    def _outcome(self, seq: int) -> bool:
        return not any(lo <= seq <= hi for lo, hi in self._failed)

    def succeeded(self, seq: int) -> bool:
        """For a completed ``seq``: was its record written? (False while it is still pending.)"""
        with self._lock:
            return seq <= self._done and self._outcome(seq)

    async def wait_async(self, seq: int) -> bool:
        """True once ``seq`` is durable; False if it could not be written (or the writer died).
        Raises :class:`LogTimeout` after ``wait_timeout``: no request waits for ever."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if seq <= self._done:
                return self._outcome(seq)
            fut: asyncio.Future[bool] = loop.create_future()
            self._waiters.add(Waiter(seq, loop, fut, time.monotonic() + self.config.wait_timeout))
            plan = loop not in self._kicks_planned
            self._kicks_planned.add(loop)
        if plan:
            loop.call_soon(self._kick_planned, loop)
        return await fut  # the watchdog thread ends it with LogTimeout after wait_timeout

    def _kick_planned(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the event loop, once the requests it had ready are decided: wake the writer for all of them.

        Why not at the first wait: the writer woken then asks for the GIL while the loop still decides
        the requests that arrived with it, and takes it from the loop mid-work a switch interval later,
        for a group of half of them; woken here, it mostly finds the loop about to wait for the network,
        and the group holds every record of the loop's turn (docs/benchmarks.md, "Waking the writer
        once the loop's turn is done")."""
        with self._lock:
            self._kicks_planned.discard(loop)
            self._wake()

    def _expire(self, fut: asyncio.Future[bool]) -> None:
        """In the waiter's event loop: end a wait that passed wait_timeout."""
        if not fut.done():
            self._observer.timed_out("durable")
            fut.set_exception(LogTimeout(f"the decision record was not written within {self.config.wait_timeout:g} s"))

    def _watch(self) -> None:
        """Watchdog thread: ends waits that passed ``wait_timeout`` (a stuck writer cannot) and marks the
        writer stuck while records wait without progress. A timer per request would cost the hot path."""
        interval = min(0.25, self.config.wait_timeout / 4)
        while not self._stop.wait(interval):
            with self._lock:
                self._stuck_reason = self._stuck()
                expired = self._waiters.expired(time.monotonic())
            expire(expired, self._expire)

    def wait(self, seq: int, timeout: float | None = None) -> bool:
        """Blocking form of :meth:`wait_async` (threads, tests); False also on timeout (default: wait_timeout)."""
        limit = self.config.wait_timeout if timeout is None else timeout
        with self._lock:
            self._wake()
            if not self._progress.wait_for(lambda: self._done >= seq, limit):
                self._observer.timed_out("durable")
                return False
            return self._outcome(seq)

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LogWriter:
        self.config.directory.mkdir(parents=True, exist_ok=True)
        self._open_new()  # fail at startup, not on the first request, if the directory is unusable
        self._thread = threading.Thread(target=self._run, name="poortwachter-decision-log", daemon=True)
        self._thread.start()
        threading.Thread(target=self._watch, name="poortwachter-decision-log-watchdog", daemon=True).start()
        return self

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new events, write everything queued, fsync, close. True if all was written."""
        with self._lock:
            self._closing = True
            self._has_work.notify()
            self._room.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._stop.set()
        with self._lock:
            drained = not self._queue and self._done == self._seq
            return drained and self._healthy and self._dead is None

    # ---- writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        self._batch_scheduled = batch_scheduling()
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - the thread must not vanish silently: say so, release all
            self._died(exc)

    def _died(self, exc: BaseException) -> None:
        reason = f"decision log writer thread died ({type(exc).__name__}: {exc}); restart the service"
        with self._lock:
            self._dead = reason
            self._queue = []
            first, last = self._done + 1, self._seq
            self._room.notify_all()
        if last >= first:
            self._complete(first, last, False)
        self._files.abandon()
        try:
            self._observer.health_changed(False, reason)
        except Exception:  # noqa: BLE001, S110 - health() tells the truth without the observer
            pass

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._closing and not (self._queue and self._kicked):
                    # Idle, the writer looks every LINGER_SECONDS for records nobody woke it for
                    # (cheaper than a wake-up per record); unhealthy, it retries every retry_seconds.
                    timeout = LINGER_SECONDS if self._healthy else self.config.retry_seconds
                    if not self._has_work.wait(timeout) and (self._queue or not self._healthy):
                        break
                batch, self._queue, self._kicked = self._queue, [], False
                closing = self._closing
                if batch:
                    self._room.notify_all()
            if batch:
                self._write_batch(batch)
            elif not self._healthy and not closing:
                self._recover()
            if closing and not batch:
                with self._lock:
                    if self._queue:
                        continue
                self._files.finish()
                return

    def _set_health(self, healthy: bool, reason: str | None) -> None:
        changed = healthy != self._healthy
        self._healthy, self._reason = healthy, reason
        if changed:
            try:
                self._observer.health_changed(healthy, reason)
            except Exception:  # noqa: BLE001, S110 - a metrics hook must not stop the writer
                pass

    def _recover(self) -> None:
        try:
            self._open_new()
        except OSError as exc:
            self._reason = f"decision log unwritable: {exc.strerror or exc} ({self.config.directory})"
            return
        self._set_health(True, None)

    def _open_new(self) -> None:
        now = self._files.open_new()
        step = self.config.rotate_seconds
        self._rotate_at = (now // step + 1) * step
        self._last_sync = self._head_synced = now

    @staticmethod
    def _encode(item: tuple[int, record.Prepared], prev: str | None) -> record.Encoded:
        return record.link(item[1], prev)

    def _write_batch(self, batch: Batch) -> None:
        first, last = batch[0][0], batch[-1][0]
        started = time.perf_counter()
        ok = True
        failed: list[int] = []
        files = self._files
        try:
            if not self._healthy or files.fd is None:
                self._open_new()
                self._set_health(True, None)
            now = self._clock()
            data, chain, failed_at = files.serialise(batch, self._encode)
            if files.size + len(data) > self.config.max_file_bytes or now >= self._rotate_at:
                self._open_new()
                data, chain, failed_at = files.serialise(batch, self._encode)
            assert files.fd is not None
            write_all(files.fd, data)
            if self.config.durability == "fsync" or now - self._last_sync >= self.config.sync_seconds:
                fdatasync_promptly(files.fd, self._batch_scheduled)
                self._last_sync = now
            files.commit(data, chain)
            failed = [batch[n][0] for n in failed_at]
            head_sync = now - self._head_synced >= self.config.sync_seconds
            files.write_head(sync=head_sync)
            if head_sync:
                self._head_synced = now
        except Exception as exc:  # noqa: BLE001 - OSError above all; anything else must not stop the writer
            ok = False
            files.abandon()  # the file's state is unknown after a failed write or fsync: never reuse it
            what = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            self._set_health(False, f"decision log unwritable: {what} ({self.config.directory})")
        try:
            self._observer.batch_written(len(batch), time.perf_counter() - started, ok)
        except Exception:  # noqa: BLE001, S110 - a metrics hook must not stop the writer
            pass
        self._complete(first, last, ok, failed)

    def _complete(self, first: int, last: int, ok: bool, failed: list[int] | None = None) -> None:
        with self._lock:
            self._done = last
            self._progress_at = time.monotonic()
            self._stuck_reason = None
            if not ok:
                self._failed.append((first, last))
            elif failed:
                self._failed.extend((seq, seq) for seq in failed)
            del self._failed[:-MAX_FAILED_RANGES]
            released = self._waiters.done(last, self._outcome)
            self._progress.notify_all()
        release(released)
