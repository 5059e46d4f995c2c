"""The decision log writer: a queue, one writer thread, group commit, rotation.

Guarantee (durability ``fsync``, the default): **a decision is answered only after its record is on
disk.** The request path appends the event to an in-memory queue (:meth:`LogWriter.submit`, a lock
and a list append) and gets a sequence number; before the HTTP answer leaves, the service awaits
:meth:`LogWriter.wait_async` for that number. The writer thread takes *everything* queued at once,
serialises it, writes it with one ``write`` and one ``fdatasync`` and then releases all the waiting
requests together (group commit): under load one fsync covers many decisions, so the cost per decision
falls as concurrency rises. SIGKILL, a crash or power loss can therefore lose only records whose
requests were never answered.

Durability ``write`` answers after the ``write`` into the kernel's page cache: a killed process loses
nothing, a power failure may lose the last second (the writer fsyncs at most ``sync_seconds`` apart).

When the log cannot be written (disk full, I/O error, a lost volume) the batch's requests are told so
(the service answers 503, never the decision) and the writer turns unhealthy: :meth:`submit` raises
:class:`LogUnavailable` at once, the service fails closed and ``/readyz`` says why. The writer then
tries a fresh file every ``retry_seconds`` and turns healthy again when that works. There is no spill
buffer: an unwritable log stops decisions rather than risk evidence (documented in docs/operations.md).

Files: ``<dir>/decisions-<UTC start>-p<pid>.jsonl``, one writer (process) per file, so several worker
processes share a directory without locks. A file is closed and a new one opened when it would pass
``max_file_bytes`` or when a ``rotate_seconds`` boundary (UTC, e.g. midnight for 86400) passes. Each
file begins with an ``open`` line naming the previous file of the same process and its last line's
hash; each line carries ``prev``, the SHA-256 of the line before it (tamper evidence, see
``poortwachter log verify``). The writer never deletes: retention is the operator's (10 years, seed 002).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import orjson

from .record import SCHEMA_VERSION, DecisionEvent, to_record, utc_iso

Durability = Literal["fsync", "write"]
FILE_PREFIX = "decisions"
LINGER_SECONDS = 0.05  # a record nobody waits for is written within about twice this
FILE_SUFFIX = ".jsonl"


class LogUnavailable(Exception):
    """The decision log cannot take a record now; the caller must not answer the decision."""


class Observer(Protocol):
    """Hooks for metrics; called from the writer thread (keep them cheap)."""

    def batch_written(self, records: int, seconds: float, ok: bool) -> None: ...
    def health_changed(self, healthy: bool, reason: str | None) -> None: ...


class _NoObserver:
    def batch_written(self, records: int, seconds: float, ok: bool) -> None:
        pass

    def health_changed(self, healthy: bool, reason: str | None) -> None:
        pass


@dataclass(frozen=True)
class WriterConfig:
    directory: Path
    durability: Durability = "fsync"
    max_file_bytes: int = 64 * 1024 * 1024
    rotate_seconds: int = 86_400  # files start at most a day apart, aligned to UTC midnight
    max_pending: int = 10_000  # requests wait for their record, so the queue only holds in-flight ones
    retry_seconds: float = 1.0
    sync_seconds: float = 1.0  # durability "write": fsync at most this far apart

    def __post_init__(self) -> None:
        if self.durability not in ("fsync", "write"):
            raise ValueError(f"decision log durability must be fsync or write, not {self.durability!r}")
        if self.max_file_bytes < 4096:
            raise ValueError("decision log max_file_bytes must be at least 4096")
        if self.rotate_seconds < 1:
            raise ValueError("decision log rotate_seconds must be at least 1")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _resolve(items: list[tuple[asyncio.Future[bool], bool]]) -> None:
    for fut, ok in items:
        if not fut.done():
            fut.set_result(ok)


class LogWriter:
    """See the module docstring. Thread-safe; one instance per process and log directory."""

    def __init__(self, config: WriterConfig, pseudonymise: Callable[[str], str], *, key_id: str = "",
                 observer: Observer | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._pseudonymise = pseudonymise
        self._key_id = key_id
        self._observer = observer or _NoObserver()
        self._clock = clock
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._queue: list[tuple[int, DecisionEvent | Mapping[str, Any]]] = []
        self._seq = 0
        self._done = 0
        self._failed: list[tuple[int, int]] = []
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[bool]]] = []
        self._closing = False
        self._kicked = False
        self._healthy = True
        self._reason: str | None = None
        self._thread: threading.Thread | None = None
        # writer-thread state
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._rotate_at = 0.0
        self._prev: str | None = None
        self._last_sync = 0.0
        self._records_in_file = 0
        self.files_opened = 0

    # ---- request side -------------------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self._healthy and not self._closing

    @property
    def reason(self) -> str | None:
        return self._reason

    @property
    def pending(self) -> int:
        return self._seq - self._done

    @property
    def current_file(self) -> Path | None:
        return self._path

    def submit(self, event: DecisionEvent | Mapping[str, Any], *, wake: bool = True) -> int:
        """Queue one event; its sequence number, to wait on. Raises LogUnavailable (fail closed).

        ``wake=False`` leaves the writer asleep until somebody waits (:meth:`wait_async` wakes it) or
        ``LINGER_SECONDS`` pass: a request that produces many records (a batch) then wakes the writer
        once, when it is done, instead of handing the GIL back and forth with it for every record.
        """
        with self._lock:
            if not self._healthy or self._closing:
                raise LogUnavailable(self._reason or "decision log is closing")
            if len(self._queue) >= self.config.max_pending:
                raise LogUnavailable(f"decision log queue full ({self.config.max_pending} pending)")
            self._seq += 1
            self._queue.append((self._seq, event))
            if wake:
                self._wake()
            return self._seq

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
        """For a completed ``seq``: was its batch written? (False while it is still pending.)"""
        with self._lock:
            return seq <= self._done and self._outcome(seq)

    async def wait_async(self, seq: int) -> bool:
        """True once ``seq`` is durable; False if its batch could not be written."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if seq <= self._done:
                return self._outcome(seq)
            fut: asyncio.Future[bool] = loop.create_future()
            self._waiters.append((seq, loop, fut))
            self._wake()
        return await fut

    def wait(self, seq: int, timeout: float | None = None) -> bool:
        """Blocking form of :meth:`wait_async` (threads, tests); False also on timeout."""
        with self._lock:
            self._wake()
            if not self._progress.wait_for(lambda: self._done >= seq, timeout):
                return False
            return self._outcome(seq)

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LogWriter:
        self.config.directory.mkdir(parents=True, exist_ok=True)
        self._open_new()  # fail at startup, not on the first request, if the directory is unusable
        self._thread = threading.Thread(target=self._run, name="poortwachter-decision-log", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new events, write everything queued, fsync, close. True if all was written."""
        with self._lock:
            self._closing = True
            self._has_work.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            drained = not self._queue and self._done == self._seq
        return drained and self._healthy

    # ---- writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
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
                self._write_batch(batch)
            elif not self._healthy and not closing:
                self._recover()
            if closing and not batch:
                with self._lock:
                    if self._queue:
                        continue
                self._finish()
                return

    def _set_health(self, healthy: bool, reason: str | None) -> None:
        changed = healthy != self._healthy
        self._healthy, self._reason = healthy, reason
        if changed:
            self._observer.health_changed(healthy, reason)

    def _recover(self) -> None:
        try:
            self._open_new()
        except OSError as exc:
            self._reason = f"decision log unwritable: {exc.strerror or exc} ({self.config.directory})"
            return
        self._set_health(True, None)

    def _open_new(self) -> None:
        """Close the current file (fsync) and start a new one whose first line is durable."""
        old_path, old_prev = self._path, self._prev
        self._close_file()
        now = self._clock()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S%fZ")
        directory = self.config.directory
        for n in range(1000):
            path = directory / f"{FILE_PREFIX}-{stamp}-p{os.getpid()}{f'-{n}' if n else ''}{FILE_SUFFIX}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o640)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - a thousand files in one microsecond
            raise OSError(f"cannot find a free file name in {directory}")
        header = orjson.dumps({
            "v": SCHEMA_VERSION, "event": "open", "time": utc_iso(int(now * 1e9)), "host": socket.gethostname(),
            "pid": os.getpid(), "key_id": self._key_id, "durability": self.config.durability,
            "prev_file": old_path.name if old_path else None, "prev": old_prev,
        }) + b"\n"
        try:
            _write_all(fd, header)
            os.fdatasync(fd)
            _fsync_dir(directory)
        except OSError:
            os.close(fd)
            raise
        self._fd, self._path, self._size, self._records_in_file = fd, path, len(header), 0
        self._prev = hashlib.sha256(header).hexdigest()
        step = self.config.rotate_seconds
        self._rotate_at = (now // step + 1) * step
        self._last_sync = now
        self.files_opened += 1

    def _close_file(self, footer: bool = False) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if footer:
                _write_all(fd, orjson.dumps({"v": SCHEMA_VERSION, "event": "close",
                                             "time": utc_iso(time.time_ns()), "prev": self._prev}) + b"\n")
            os.fdatasync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _serialise(self, batch: list[tuple[int, DecisionEvent | Mapping[str, Any]]]) -> tuple[bytes, str | None]:
        prev = self._prev
        lines = []
        for _, event in batch:
            try:
                record = to_record(event, self._pseudonymise)
            except Exception as exc:  # noqa: BLE001 - an event we cannot render is still recorded, never dropped
                record = {"v": SCHEMA_VERSION, "time": utc_iso(time.time_ns()),
                          "decision_id": getattr(event, "decision_id", None),
                          "errors": [f"decision log could not render this event: {type(exc).__name__}"]}
            record["prev"] = prev
            line = orjson.dumps(record, default=str) + b"\n"
            prev = hashlib.sha256(line).hexdigest()
            lines.append(line)
        return b"".join(lines), prev

    def _write_batch(self, batch: list[tuple[int, DecisionEvent | Mapping[str, Any]]]) -> None:
        first, last = batch[0][0], batch[-1][0]
        started = time.perf_counter()
        ok = True
        try:
            if not self._healthy or self._fd is None:
                self._open_new()
                self._set_health(True, None)
            now = self._clock()
            data, prev = self._serialise(batch)
            if self._size + len(data) > self.config.max_file_bytes or now >= self._rotate_at:
                self._open_new()
                data, prev = self._serialise(batch)
            assert self._fd is not None
            _write_all(self._fd, data)
            if self.config.durability == "fsync" or now - self._last_sync >= self.config.sync_seconds:
                os.fdatasync(self._fd)
                self._last_sync = now
            self._size += len(data)
            self._records_in_file += len(batch)
            self._prev = prev
        except OSError as exc:
            ok = False
            # The file's state is unknown after a failed write or fsync: never reuse it.
            if self._fd is not None:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                self._fd = None
            self._set_health(False, f"decision log unwritable: {exc.strerror or exc} ({self.config.directory})")
        self._observer.batch_written(len(batch), time.perf_counter() - started, ok)
        self._complete(first, last, ok)

    def _complete(self, first: int, last: int, ok: bool) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[bool], bool]]] = {}
        with self._lock:
            self._done = last
            if not ok:
                self._failed.append((first, last))
                del self._failed[:-256]
            keep = []
            for seq, loop, fut in self._waiters:
                if seq <= last:
                    by_loop.setdefault(loop, []).append((fut, ok if seq >= first else self._outcome(seq)))
                else:
                    keep.append((seq, loop, fut))
            self._waiters = keep
            self._progress.notify_all()
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # that loop is closed; nobody is waiting any more
                pass

    def _finish(self) -> None:
        """Close the last file; one that never received a record (a process that decided nothing,
        such as ``serve`` checking its settings) is removed rather than left as clutter."""
        empty = self._records_in_file == 0 and self._path is not None
        self._close_file(footer=not empty)
        if empty and self._path is not None:
            try:
                self._path.unlink()
                _fsync_dir(self.config.directory)
            except OSError:
                pass
