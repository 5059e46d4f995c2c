"""Shipping the journal to the central store: batched, idempotent, resumable, bounded waits.

One thread (:meth:`Shipper.run`) per journal folder. It takes an exclusive lock on the folder
(``.ship.lock``, ``flock``) so that of several candidates — the service's workers, a sidecar ``poortwachter
log ship`` — exactly one ships; the others stand by, report the backlog from the position file, and
take over when the lock is free (the kernel drops a dead process's lock, kill -9 included).

Each batch (up to ``batch_lines`` complete lines of one segment) is one transaction: the records go in
with one COPY (key: decision id and the record's own time); should some be there already (a position
lost, a batch shipped twice) the key refuses them and the batch goes again through a staging table
with ``INSERT … ON CONFLICT DO NOTHING``, so a record shipped twice leaves one row and the segment's position (lines, bytes, last line's hash) moves in
the same transaction, guarded by the position it expected (``WHERE lines = before``). So the position in
PostgreSQL is exact: records and position commit together or not at all, and a shipper killed at any
instant resumes from it. Why there and not in a local file: a local file written after the commit
can lag it (a kill between the two re-ships a batch, harmless but not exact) and cannot be shared by
a replacement pod; the local ``.ship-position.json`` is kept only as a hint for the backlog figures
while PostgreSQL cannot be asked (written atomically at most once a second, never trusted over the store).

Failures (PostgreSQL down, a timeout, a lost connection) close the connection and retry with
exponential backoff and full jitter (``0.5 s · 2^n``, at most ``max_backoff``); every wait is bounded by
``connect_timeout``, ``statement_timeout`` and TCP timeouts (db.py). Nothing is dropped: the journal
is the buffer, and it only grows while the store is away.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import orjson
import psycopg
from psycopg import errors as pg_errors

from . import schema
from .batch import PositionConflict, build_batch, write_batch
from .batch import cause as batch_cause
from .db import Target, connect
from .journal import Journal, Position, Segment, first_pending_time, read_lines

log = logging.getLogger("poortwachter.log_ship")

LOCK_FILE = ".ship.lock"
POSITION_FILE = ".ship-position.json"
HINT_SECONDS = 1.0


class Observer(Protocol):
    """Hooks for metrics (called from the shipper thread)."""

    def shipped(self, records: int) -> None: ...
    def failed(self, cause: str) -> None: ...
    def backlog(self, status: ShipStatus) -> None: ...


class _NoObserver:
    def shipped(self, records: int) -> None:
        pass

    def failed(self, cause: str) -> None:
        pass

    def backlog(self, status: ShipStatus) -> None:
        pass


@dataclass(frozen=True)
class ShipStatus:
    """The shipper's state for /readyz, metrics and the journal-size gate."""

    role: str  # shipping | standby | starting | stopped
    connected: bool
    pending_records: int
    pending_bytes: int
    oldest_pending_age: float | None
    last_success: float | None  # Unix time of the last round that reached the store
    last_error: str | None
    max_pending_bytes: int

    @property
    def over_limit(self) -> bool:
        return self.pending_bytes > self.max_pending_bytes

    def report(self) -> dict[str, Any]:
        """For /readyz: the figures and the sentence."""
        return {"role": self.role, "connected": self.connected, "pending_records": self.pending_records,
                "pending_bytes": self.pending_bytes, "max_pending_bytes": self.max_pending_bytes,
                "oldest_pending_age_seconds": self.oldest_pending_age, "last_success": self.last_success,
                "last_error": self.last_error, "refusing": self.over_limit, "detail": self.detail()}

    def detail(self) -> str:
        lag = "" if self.oldest_pending_age is None else f", oldest {self.oldest_pending_age:.0f} s old"
        text = (f"log shipping {self.role}: {self.pending_records} record(s) ({self.pending_bytes} bytes) not yet "
                f"in the central store{lag}")
        if self.last_error:
            text += f"; last error: {self.last_error}"
        if self.over_limit:
            text += f"; journal backlog above {self.max_pending_bytes} bytes: refusing decisions"
        return text


@dataclass
class ShipperConfig:
    directory: Path
    target: Target
    batch_lines: int = 2000
    poll_seconds: float = 0.5
    max_backoff: float = 30.0
    max_pending_bytes: int = 10 * 1024**3  # beyond this backlog the service refuses decisions
    round_lines: int = 50_000  # after this many lines the shipper refreshes its backlog figures
    source: str | None = None  # a label for the segments (e.g. the pod); informational
    watch_only: bool = False  # never ship: report the backlog a sidecar shipper leaves (its position file)

    def __post_init__(self) -> None:
        if self.batch_lines < 1 or self.round_lines < self.batch_lines:
            raise ValueError("batch_lines must be at least 1 and round_lines at least batch_lines")
        if not (self.poll_seconds > 0 and self.max_backoff > 0 and self.max_pending_bytes > 0):
            raise ValueError("poll_seconds, max_backoff and max_pending_bytes must be more than 0")


class Shipper:
    """See the module docstring. ``run`` in a thread (the service) or the main thread (``log ship``)."""

    def __init__(self, config: ShipperConfig, observer: Observer | None = None) -> None:
        self.config = config
        self.observer = observer or _NoObserver()
        self.journal = Journal(config.directory)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock_fd: int | None = None
        self._positioned: set[str] = set()
        self._periods: set[date] = set()
        self._hint_written = 0.0
        self._hint_mtime = 0.0
        self._lock = threading.Lock()
        self._status = ShipStatus("starting", False, 0, 0, None, None, None, config.max_pending_bytes)
        self._last_success: float | None = None
        self._last_error: str | None = None
        self.shipped_total = 0
        self.refusing = False  # the backlog passed max_pending_bytes (read lock-free on the request path)

    # ---- state for others ----------------------------------------------------------------------

    def status(self) -> ShipStatus:
        with self._lock:
            return self._status

    # ---- the loop -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Ship until ``stop`` is set; never raises (every failure is counted, logged and retried)."""
        failures = 0
        while not stop.is_set():
            wait = self.config.poll_seconds
            try:
                if self._lock_fd is None and not self.config.watch_only:
                    self._try_lock()
                if self._lock_fd is None:
                    self._standby_round()
                elif self._ship_round(stop):
                    wait = 0.0
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the shipper must keep trying, whatever went wrong
                failures += 1
                wait = self._failed(exc, failures)
            try:
                self._publish()
            except Exception:  # noqa: BLE001 - a metrics failure must not stop shipping
                log.exception("log shipping: reporting the backlog failed")
            if wait:
                stop.wait(wait)
        self._last_round()
        self.close()

    def _last_round(self) -> None:
        """On stop: ship what the journal got meanwhile (the service's last records), once, if connected."""
        if self._lock_fd is None or self._conn is None:
            return
        try:
            self._ship_round(threading.Event())
        except Exception as exc:  # noqa: BLE001 - the journal keeps it for the next start
            log.warning("log shipping: last round on stop failed (%s); the next start ships it", exc)

    def ship_pending(self, stop: threading.Event | None = None) -> ShipStatus | None:
        """Take the lock and ship everything pending now (``log ship --once``, tests, backfills); raises
        on a store failure (the journal keeps everything). None when another shipper holds the lock."""
        stop = stop or threading.Event()
        if self._lock_fd is None:
            self._try_lock()
        if self._lock_fd is None:
            return None
        while self._ship_round(stop):
            pass
        self._publish()
        return self.status()

    def close(self) -> None:
        """Write the position hint, drop the connection and the lock."""
        with contextlib.suppress(OSError):
            if self._lock_fd is not None:
                self._write_hint(force=True)
        self._disconnect()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None
        with self._lock:
            self._status = ShipStatus("stopped", False, self._status.pending_records, self._status.pending_bytes,
                                      self._status.oldest_pending_age, self._last_success, self._last_error,
                                      self.config.max_pending_bytes)

    def _failed(self, exc: Exception, failures: int) -> float:
        cause = batch_cause(exc)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self._last_error = f"{cause}: {text}"[:300]
        self.observer.failed(cause)
        level = logging.ERROR if failures == 1 or failures % 20 == 0 else logging.DEBUG
        log.log(level, "log shipping failed (%s; attempt %d): %s; the journal keeps every record", cause,
                failures, text, exc_info=cause == "internal")
        self._disconnect()
        if isinstance(exc, PositionConflict):
            return random.uniform(0, self.config.poll_seconds)  # noqa: S311 - jitter, not a secret
        ceiling = min(self.config.max_backoff, 0.5 * 2 ** min(failures - 1, 16))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret

    def _try_lock(self) -> None:
        self.config.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return
        self._lock_fd = fd
        self._positioned.clear()  # whatever we knew: the store decides
        log.info("log shipping: shipping %s to the central store", self.config.directory)

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self._positioned.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None:
            conn = connect(self.config.target)
            try:
                schema.check_current(conn)
                self._periods = set(schema.existing_partitions(conn))
                conn.execute("""CREATE TEMP TABLE IF NOT EXISTS ship_decisions (
                                    time timestamptz, decision_id text, client text, subject_id text,
                                    segment_id text, line_no bigint, raw text) ON COMMIT DELETE ROWS""")
                conn.commit()
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _positions(self, conn: psycopg.Connection[tuple[object, ...]], segments: list[Segment]) -> None:
        """Take the store's position for every segment not yet positioned on this connection."""
        todo = [s for s in segments if s.segment_id not in self._positioned]
        if not todo:
            return
        with conn.cursor() as cur:
            cur.execute("SELECT segment_id, lines, bytes FROM segments WHERE segment_id = ANY(%s)",
                        ([s.segment_id for s in todo],))
            found = {str(sid): Position(int(str(lines)), int(str(nbytes))) for sid, lines, nbytes in cur.fetchall()}
        conn.rollback()
        for s in todo:
            s.shipped = found.get(s.segment_id, Position())
            if s.shipped.lines > s.seen.lines:
                log.error("log shipping: %s holds %d lines but the store has %d of it: the local file was "
                          "truncated or replaced (poortwachter log --verify)", s.path.name, s.seen.lines,
                          s.shipped.lines)
            self._positioned.add(s.segment_id)

    def _ship_round(self, stop: threading.Event) -> bool:
        """Ship what is pending, at most ``round_lines``; True if more is waiting."""
        segments = self.journal.refresh()
        conn = self._connection()
        self._positions(conn, segments)
        budget = self.config.round_lines
        for segment in segments:
            while segment.pending and budget > 0 and not stop.is_set():
                lines = read_lines(segment, segment.shipped, min(self.config.batch_lines, budget))
                if not lines:
                    break
                self._ship_batch(conn, segment, lines)
                budget -= len(lines)
        self._last_success = time.time()
        self._last_error = None
        self._write_hint()
        return budget <= 0

    def _ship_batch(self, conn: psycopg.Connection[tuple[object, ...]], segment: Segment, lines: list[bytes]) -> None:
        before = segment.shipped
        batch = build_batch(segment, before.lines + 1, lines)
        if batch.periods - self._periods:
            schema.ensure_partitions(conn, self.config.target.schema, batch.periods)
            self._periods |= batch.periods
        after = Position(before.lines + len(lines), before.bytes + batch.nbytes)
        try:
            try:
                inserted = write_batch(conn, segment, batch, before, after, direct=True, source=self.config.source)
            except pg_errors.UniqueViolation:  # some rows are there already (a position was lost): the slow way
                conn.rollback()
                inserted = write_batch(conn, segment, batch, before, after, direct=False, source=self.config.source)
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise
        segment.shipped = after
        self.shipped_total += inserted
        self.observer.shipped(inserted)

    # ---- standby and the position hint ----------------------------------------------------------

    def _standby_round(self) -> None:
        segments = self.journal.refresh()
        path = self.config.directory / POSITION_FILE
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == self._hint_mtime:
            return
        hint = self._read_hint(path)
        self._hint_mtime = mtime
        positions = hint.get("positions", {})
        for s in segments:
            got = positions.get(s.segment_id)
            if isinstance(got, list) and len(got) == 2:
                s.shipped = Position(int(got[0]), int(got[1]))
        success = hint.get("last_success")
        self._last_success = float(success) if isinstance(success, int | float) else None
        error = hint.get("last_error")
        self._last_error = str(error) if error else None

    @staticmethod
    def _read_hint(path: Path) -> dict[str, Any]:
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_hint(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._hint_written < HINT_SECONDS:
            return
        self._hint_written = now
        data = orjson.dumps({
            "v": 1, "written": time.time(), "last_success": self._last_success, "last_error": self._last_error,
            "positions": {sid: [s.shipped.lines, s.shipped.bytes] for sid, s in self.journal.segments.items()},
        })
        path = self.config.directory / POSITION_FILE
        tmp = path.with_name(f"{POSITION_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def _publish(self) -> None:
        """Recompute the backlog (pending records and bytes, the oldest pending line's age) and report it."""
        segments = list(self.journal.segments.values())
        pending = sum(s.pending for s in segments)
        nbytes = sum(s.pending_bytes for s in segments)
        oldest: float | None = None
        if pending:
            times = [t for s in segments if s.pending and (t := first_pending_time(s)) is not None]
            if times:
                oldest = max(0.0, time.time() - min(times).timestamp())
        role = "shipping" if self._lock_fd is not None else "standby"
        status = ShipStatus(role, self._conn is not None, pending, nbytes, oldest, self._last_success,
                            self._last_error, self.config.max_pending_bytes)
        with self._lock:
            self._status = status
        self.refusing = status.over_limit
        self.observer.backlog(status)

