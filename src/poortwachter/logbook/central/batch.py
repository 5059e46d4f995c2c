"""One batch of journal lines as rows, and its transaction (the shipper's unit of work; see ship.py).

:func:`build_batch` turns complete journal lines into decision rows (their indexed columns copied out
of the line, the line kept byte for byte) and journal events (every other line); :func:`write_batch`
stores them and moves the segment's position in one transaction, guarded by the position expected.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors

from . import schema
from .db import StoreError
from .journal import Position, Segment, parse_time, segment_id


class PositionConflict(StoreError):
    """The store's position of a segment is not where this shipper left it (another shipper moved it)."""


@dataclass
class Batch:
    """The rows of some journal lines, the years they fall in, their time range, the last line's hash."""

    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    periods: set[date] = field(default_factory=set)
    first_time: datetime | None = None
    last_time: datetime | None = None
    last_hash: str | None = None
    nbytes: int = 0


def build_batch(segment: Segment, first_line_no: int, lines: Iterable[bytes]) -> Batch:
    """The rows of these journal lines: decision records, and every other line as a journal event."""
    batch = Batch()
    for n, line in enumerate(lines, first_line_no):
        batch.nbytes += len(line)
        batch.last_hash = segment_id(line)  # the SHA-256 of the line, as the chain uses it
        body = line[:-1]
        try:
            text = body.decode("utf-8")
            if "\x00" in text:
                raise ValueError("NUL")
            record = orjson.loads(body)
        except (UnicodeDecodeError, ValueError):
            batch.events.append((segment.segment_id, n, "undecodable", None, base64.b64encode(body).decode()))
            continue
        rec = record if isinstance(record, dict) else {}
        when = parse_time(rec.get("time"))
        decision_id = rec.get("decision_id")
        if "event" not in rec and isinstance(decision_id, str) and decision_id:
            when = when or segment.opened or datetime(1970, 1, 1, tzinfo=UTC)
            subject = rec.get("subject")
            subject_id = subject.get("id") if isinstance(subject, dict) else None
            client = rec.get("client")
            batch.decisions.append((when, decision_id, client if isinstance(client, str) else None,
                                    subject_id if isinstance(subject_id, str) else None,
                                    segment.segment_id, n, text))
            batch.periods.add(schema.period(when.astimezone(UTC).date()))
            batch.first_time = min(batch.first_time or when, when)
            batch.last_time = max(batch.last_time or when, when)
        else:
            event = rec.get("event") if isinstance(rec.get("event"), str) else "unkeyed"
            batch.events.append((segment.segment_id, n, str(event)[:64], when, text))
    return batch


def cause(exc: BaseException) -> str:
    """A bounded label for the error metric."""
    if isinstance(exc, PositionConflict):
        return "conflict"
    if isinstance(exc, pg_errors.QueryCanceled | pg_errors.LockNotAvailable):
        return "timeout"
    if isinstance(exc, pg_errors.UndefinedTable | pg_errors.UndefinedColumn | pg_errors.InvalidSchemaName):
        return "schema"
    if isinstance(exc, StoreError):
        return "schema" if "migration" in str(exc) else "connect"
    if isinstance(exc, psycopg.OperationalError):
        return "connection"
    if isinstance(exc, psycopg.Error):
        return "database"
    if isinstance(exc, OSError):
        return "journal"
    return "internal"


def write_batch(conn: psycopg.Connection[tuple[object, ...]], segment: Segment, batch: Batch, before: Position,
            after: Position, *, direct: bool, source: str | None) -> int:
    """One transaction: the records, the other lines, the position. ``direct``: COPY straight into the
    table (the common case, one write per row); else through a staging table with ``ON CONFLICT DO
    NOTHING``, for a batch some of whose rows are stored already. The decision rows it inserted."""
    inserted = 0
    columns = "time, decision_id, client, subject_id, segment_id, line_no, raw"
    with conn.cursor() as cur:
        if batch.decisions:
            with cur.copy(f"COPY {'decisions' if direct else 'ship_decisions'} ({columns}) FROM STDIN") as copy:
                for row in batch.decisions:
                    copy.write_row(row)
            if direct:
                inserted = len(batch.decisions)
            else:
                cur.execute(f"INSERT INTO decisions ({columns}) SELECT {columns} FROM ship_decisions "  # noqa: S608 - fixed names
                            "ON CONFLICT DO NOTHING")
                inserted = max(0, cur.rowcount)
        if batch.events:
            cur.executemany("""INSERT INTO journal_events (segment_id, line_no, event, time, raw)
                               VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""", batch.events)
        cur.execute("""
            INSERT INTO segments AS s (segment_id, file, host, opened, source, lines, records, bytes, last_hash,
                                       first_time, last_time)
            VALUES (%(sid)s, %(file)s, %(host)s, %(opened)s, %(source)s, %(lines)s, %(records)s, %(bytes)s,
                    %(hash)s, %(first)s, %(last)s)
            ON CONFLICT (segment_id) DO UPDATE SET
                lines = EXCLUDED.lines, bytes = EXCLUDED.bytes, last_hash = EXCLUDED.last_hash,
                records = s.records + EXCLUDED.records,
                file = EXCLUDED.file, updated_at = now(),
                first_time = LEAST(s.first_time, EXCLUDED.first_time),
                last_time = GREATEST(s.last_time, EXCLUDED.last_time)
            WHERE s.lines = %(before)s""",
            {"sid": segment.segment_id, "file": segment.path.name.removesuffix(".gz"), "host": segment.host,
             "opened": segment.opened, "source": source, "lines": after.lines,
             "bytes": after.bytes, "records": inserted, "hash": batch.last_hash, "first": batch.first_time,
             "last": batch.last_time, "before": before.lines})
        if cur.rowcount != 1:
            raise PositionConflict(f"{segment.path.name}: the store's position moved (another shipper?)")
    conn.commit()
    return inserted
