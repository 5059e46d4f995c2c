"""Asking the central store: the parent's question, a professional's history, log control.

Every question is answered from the indexes (client, time), (subject_id, time), (time) and prunes the
year partitions by time. Besides the matches a search says what it searched — the store, the
records it holds and their time range, how many fell in the window — so that "no access found in N
records from … to …" can never be confused with "nothing to search". Counting the window is cheap:
``segments`` holds each journal file's record count and time range, so only files that straddle
the window's ends are counted row by row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import conninfo

from .db import Target


def location(target: Target) -> str:
    """The store named without secrets: host, port, database, user and schema (never the password)."""
    try:
        parts = conninfo.conninfo_to_dict(target.dsn)
    except psycopg.ProgrammingError:
        return f"(unparseable DSN) schema {target.schema}"
    shown = " ".join(f"{k}={parts[k]}" for k in ("host", "port", "dbname", "user") if parts.get(k))
    return f"{shown or 'default connection'} schema={target.schema}"


@dataclass(frozen=True)
class Held:
    """What the store holds, all times: decision records, the first and last record time, segments."""

    records: int
    first: datetime | None
    last: datetime | None
    segments: int


def held(conn: psycopg.Connection[tuple[object, ...]]) -> Held:
    row = conn.execute("SELECT coalesce(sum(records), 0), min(first_time), max(last_time), count(*) "
                       "FROM segments").fetchone()
    conn.rollback()
    assert row is not None
    records, first, last, segments = row
    return Held(int(str(records)), first if isinstance(first, datetime) else None,
                last if isinstance(last, datetime) else None, int(str(segments)))


def in_window(conn: psycopg.Connection[tuple[object, ...]], since: datetime | None, until: datetime | None) -> int:
    """Decision records with since <= time < until: whole segments from their counts, the rest row by row."""
    with conn.cursor() as cur:
        cur.execute("""SELECT segment_id, records, first_time, last_time FROM segments
                       WHERE records > 0 AND (%(since)s::timestamptz IS NULL OR last_time >= %(since)s)
                         AND (%(until)s::timestamptz IS NULL OR first_time < %(until)s)""",
                    {"since": since, "until": until})
        whole = 0
        straddling = []
        for sid, records, first, last in cur.fetchall():
            inside = ((since is None or (isinstance(first, datetime) and first >= since))
                      and (until is None or (isinstance(last, datetime) and last < until)))
            if inside:
                whole += int(str(records))
            else:
                straddling.append(str(sid))
        partial = 0
        if straddling:
            cur.execute("""SELECT count(*) FROM decisions WHERE segment_id = ANY(%(sids)s)
                             AND (%(since)s::timestamptz IS NULL OR time >= %(since)s)
                             AND (%(until)s::timestamptz IS NULL OR time < %(until)s)""",
                        {"sids": straddling, "since": since, "until": until})
            row = cur.fetchone()
            partial = int(str(row[0])) if row else 0
    conn.rollback()
    return whole + partial


def search(conn: psycopg.Connection[tuple[object, ...]], *, clients: Sequence[str] | None = None,
           subjects: Sequence[str] | None = None, decision_id: str | None = None,
           since: datetime | None = None, until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The matching decision records, in time order, as they were written (parsed from the stored line).

    ``clients``/``subjects``: the values as logged (pseudonyms), any of which matches. Filters the
    indexes cannot serve (action, decision) are the caller's, on the records."""
    where = ["TRUE"]
    params: dict[str, Any] = {}
    if clients is not None:
        where.append("client = ANY(%(clients)s)")
        params["clients"] = list(clients)
    if subjects is not None:
        where.append("subject_id = ANY(%(subjects)s)")
        params["subjects"] = list(subjects)
    if decision_id is not None:
        where.append("decision_id = %(decision_id)s")
        params["decision_id"] = decision_id
    if since is not None:
        where.append("time >= %(since)s")
        params["since"] = since
    if until is not None:
        where.append("time < %(until)s")
        params["until"] = until
    query = f"SELECT raw FROM decisions WHERE {' AND '.join(where)} ORDER BY time, segment_id, line_no"  # noqa: S608 - fixed fragments
    with conn.cursor() as cur:  # streamed row by row (libpq single-row mode): memory stays flat
        for (raw,) in cur.stream(query.encode(), params):
            record = orjson.loads(str(raw))
            if isinstance(record, dict):
                yield record
    conn.rollback()
