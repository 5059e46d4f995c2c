"""The store's schema: versioned migrations, yearly partitions, retention by dropping partitions.

Migrations are numbered and applied in order, each in its own transaction together with its row in
``schema_migrations`` (version, name, SHA-256 of its SQL). An applied migration is never edited: a
checksum that no longer matches stops ``migrate`` (write a new migration instead). Concurrent runs
(several sidecars starting at once) queue on an advisory lock, so each migration runs once.

Tables (in the store's own schema):

``decisions``       one row per decision record, partitioned by the year (UTC) of the record's ``time``.
                    Yearly, not monthly: the parent's question spans every year kept, and each
                    partition costs the planner and the executor an index probe (10 years: 11
                    probes, not 121); retention's unit is the year anyway (10, at least 5).
                    Key (decision_id, time): the time comes from the record itself, so a record
                    shipped twice has the same key and ``ON CONFLICT DO NOTHING`` keeps one.
                    ``raw`` is the journal line exactly as written (the hash chain is over these bytes);
                    client, subject_id and time are copied out of it for the indexes.
``journal_events``  the journal's other lines (open, close, signed checkpoints): needed to check the
                    chains; keyed by segment and line number. The view ``checkpoints`` shows the
                    signed checkpoints among them.
``retention_runs``, ``retention_removed``  what retention dropped, when, the cut-off, and which line
                    ranges of which segments: verify tells lines removed by retention from lines
                    removed by someone else.
``segments``        one row per journal file (segment), keyed by the SHA-256 of its first line (host,
                    pid and µs in it make it unique across a fleet): its name, host, and how far it is
                    shipped (lines, bytes, last line's hash, decision records) — the shipper's durable position, updated
                    in the same transaction as the records it covers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

from .db import StoreError
from .options import DEFAULT_KEEP_YEARS, MIN_KEEP_YEARS

YEARS_AHEAD = 1  # partitions migrate keeps ready beyond the current year (the shipper makes any it meets)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "decisions by month, journal events, segments", """
CREATE TABLE segments (
    segment_id   text PRIMARY KEY,
    file         text NOT NULL,
    host         text,
    opened       timestamptz,
    source       text,
    lines        bigint NOT NULL DEFAULT 0,
    records      bigint NOT NULL DEFAULT 0,
    bytes        bigint NOT NULL DEFAULT 0,
    last_hash    text,
    first_time   timestamptz,
    last_time    timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segments_file ON segments (file);

CREATE TABLE decisions (
    time         timestamptz NOT NULL,
    decision_id  text NOT NULL,
    client       text,
    subject_id   text,
    segment_id   text NOT NULL,
    line_no      bigint NOT NULL,
    raw          text NOT NULL,
    shipped_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (decision_id, time)
) PARTITION BY RANGE (time);
CREATE INDEX decisions_client_time ON decisions (client, time);
CREATE INDEX decisions_subject_time ON decisions (subject_id, time);
CREATE INDEX decisions_time ON decisions (time);
CREATE INDEX decisions_segment_line ON decisions (segment_id, line_no);

CREATE TABLE journal_events (
    segment_id   text NOT NULL,
    line_no      bigint NOT NULL,
    event        text NOT NULL,
    time         timestamptz,
    raw          text NOT NULL,
    shipped_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, line_no)
);
CREATE INDEX journal_events_time ON journal_events (time);
CREATE VIEW checkpoints AS
    SELECT segment_id, line_no, time, raw::jsonb AS checkpoint FROM journal_events WHERE event = 'checkpoint';
"""),
    Migration(2, "what retention removed", """
CREATE TABLE retention_runs (
    run_at       timestamptz NOT NULL DEFAULT now(),
    keep_years   int NOT NULL,
    before       timestamptz NOT NULL,
    dropped      text[] NOT NULL
);
CREATE TABLE retention_removed (
    segment_id   text NOT NULL,
    first_line   bigint NOT NULL,
    last_line    bigint NOT NULL,
    lines        bigint NOT NULL,
    run_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX retention_removed_segment ON retention_removed (segment_id);
"""),
)


def period(d: date) -> date:
    """The first day of the partition holding ``d`` (1 January)."""
    return date(d.year, 1, 1)


def _next_period(d: date) -> date:
    return date(d.year + 1, 1, 1)


def partition_name(start: date) -> str:
    return f"decisions_y{start.year:04d}"


def _lock(cur: psycopg.Cursor[tuple[object, ...]], schema: str) -> None:
    """Serialise schema changes per store: migrations and partition creation."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"poortwachter-log-schema:{schema}",))


def applied(conn: psycopg.Connection[tuple[object, ...]]) -> dict[int, str]:
    """Applied migrations (version -> checksum); empty before the first migrate."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            conn.rollback()
            return {}
        cur.execute("SELECT version, checksum FROM schema_migrations")
        found = {int(str(v)): str(c) for v, c in cur.fetchall()}
    conn.rollback()
    return found


def migrate(conn: psycopg.Connection[tuple[object, ...]], schema: str, *, now: datetime | None = None) -> list[str]:
    """Create the schema if needed, apply the missing migrations in order, create the partitions of this
    year and ``YEARS_AHEAD`` ahead. Returns what was done (one line each); idempotent."""
    done: list[str] = []
    with conn.cursor() as cur:
        _lock(cur, schema)
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                           version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                           applied_at timestamptz NOT NULL DEFAULT now())""")
        cur.execute("SELECT version, checksum FROM schema_migrations ORDER BY version")
        have = {int(str(v)): str(c) for v, c in cur.fetchall()}
        known = {m.version for m in MIGRATIONS}
        unknown = sorted(set(have) - known)
        if unknown:
            raise StoreError(f"the store has migration(s) {unknown} this version does not know: it is newer "
                             f"than this program; upgrade Poortwachter")
        for m in MIGRATIONS:
            if m.version in have:
                if have[m.version] != m.checksum:
                    raise StoreError(f"migration {m.version} ({m.name}) differs from the one applied: applied "
                                     f"migrations are never edited; add a new one")
                continue
            cur.execute(m.sql.encode())
            cur.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (m.version, m.name, m.checksum))
            done.append(f"applied migration {m.version}: {m.name}")
    conn.commit()
    today = (now or datetime.now(UTC)).date()
    starts = [period(today)]
    for _ in range(YEARS_AHEAD):
        starts.append(_next_period(starts[-1]))
    done += [f"created partition {name}" for name in ensure_partitions(conn, schema, starts)]
    return done


def check_current(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Raise unless every migration of this version is applied (the shipper and queries need them)."""
    have = applied(conn)
    missing = [m.version for m in MIGRATIONS if m.version not in have]
    if missing:
        raise StoreError(f"the store lacks migration(s) {missing}: run `poortwachter log migrate --dsn …` first")


def existing_partitions(conn: psycopg.Connection[tuple[object, ...]]) -> dict[date, str]:
    """The partitions of ``decisions`` (their first day -> table name)."""
    with conn.cursor() as cur:
        cur.execute("""SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = 'decisions'::regclass""")
        names = [str(r[0]) for r in cur.fetchall()]
    conn.rollback()
    out = {}
    for name in names:
        stamp = name.removeprefix("decisions_y")
        if len(stamp) == 4 and stamp.isdigit():
            out[date(int(stamp), 1, 1)] = name
    return out


def ensure_partitions(conn: psycopg.Connection[tuple[object, ...]], schema: str, days: Iterable[date]) -> list[str]:
    """Create the partitions holding these days that do not exist yet (each covers [1 January, next 1 January) UTC)."""
    wanted = sorted({period(d) for d in days})
    have = existing_partitions(conn)
    missing = [m for m in wanted if m not in have]
    if not missing:
        return []
    created = []
    with conn.cursor() as cur:
        _lock(cur, schema)
        for first in missing:
            name = partition_name(first)
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
            row = cur.fetchone()
            if row and row[0]:
                continue  # created meanwhile by another shipper
            start = datetime(first.year, first.month, first.day, tzinfo=UTC)
            after = _next_period(first)
            end = datetime(after.year, after.month, after.day, tzinfo=UTC)
            cur.execute(sql.SQL("CREATE TABLE {} PARTITION OF decisions FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(name), sql.Literal(start), sql.Literal(end)))
            created.append(name)
    conn.commit()
    return created


def retention(conn: psycopg.Connection[tuple[object, ...]], schema: str, keep_years: int, *,
              now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Drop the partitions that end before ``keep_years`` ago (whole years only: a partition goes when its
    *last* record is older than the period), and the journal events of that age.

    Refuses fewer than ``MIN_KEEP_YEARS`` years: the Besluit vaststelling bewaartermijn logging requires
    logging to be kept at least five years (toolkit-jgz-2026 §6.5.1 and bijlage C; NEN 7513:2024 art. 8.3)."""
    if keep_years < MIN_KEEP_YEARS:
        raise ValueError(f"--keep-years {keep_years}: the decision log must be kept at least {MIN_KEEP_YEARS} years "
                         f"(Besluit vaststelling bewaartermijn logging; toolkit-jgz-2026 §6.5.1, bijlage C); "
                         f"the JGZ keeps it {DEFAULT_KEEP_YEARS}")
    today = (now or datetime.now(UTC)).date()
    try:
        cutoff = date(today.year - keep_years, today.month, today.day)
    except ValueError:  # 29 February
        cutoff = date(today.year - keep_years, today.month, 28)
    cutoff_at = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
    done = []
    dropped = False
    for first, name in sorted(existing_partitions(conn).items()):
        if _next_period(first) <= cutoff:
            done.append(f"{'would drop' if dry_run else 'dropped'} partition {name} (records of "
                        f"{first:%Y}, older than {keep_years} years)")
            if not dry_run:
                with conn.cursor() as cur:
                    _lock(cur, schema)
                    cur.execute(sql.SQL("""INSERT INTO retention_removed (segment_id, first_line, last_line, lines)
                                           SELECT segment_id, min(line_no), max(line_no), count(*) FROM {}
                                           GROUP BY segment_id""").format(sql.Identifier(name)))
                    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                conn.commit()
                dropped = True
    if not dry_run:
        with conn.cursor() as cur:
            cur.execute("""INSERT INTO retention_removed (segment_id, first_line, last_line, lines)
                           SELECT segment_id, min(line_no), max(line_no), count(*) FROM journal_events
                           WHERE time < %s GROUP BY segment_id""", (cutoff_at,))
            cur.execute("DELETE FROM journal_events WHERE time < %s", (cutoff_at,))
            if cur.rowcount:
                done.append(f"deleted {cur.rowcount} journal event line(s) older than {cutoff:%Y-%m-%d}")
            if dropped:  # recorded (verify tells retention from deletion); the segments' counts and time ranges
                # follow what is left (their positions stay, so the shipper never ships those lines again)
                cur.execute("INSERT INTO retention_runs (keep_years, before, dropped) VALUES (%s, %s, %s)",
                            (keep_years, cutoff_at, [d.split()[2] for d in done if d.startswith("dropped")]))
                cur.execute("""UPDATE segments s SET records = c.n, first_time = c.lo, last_time = c.hi
                               FROM (SELECT s2.segment_id, count(d.decision_id) AS n, min(d.time) AS lo,
                                            max(d.time) AS hi
                                     FROM segments s2 LEFT JOIN decisions d ON d.segment_id = s2.segment_id
                                     WHERE s2.first_time < %s GROUP BY s2.segment_id) c
                               WHERE s.segment_id = c.segment_id""", (cutoff_at,))
        conn.commit()
    return done
