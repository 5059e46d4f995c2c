"""``poortwachter log --dsn … --verify``: is the central store whole, and where is it not?

The store keeps every journal line exactly as written (``raw``), so its segments can be rebuilt line
for line and checked by the very same verification as local folders (logbook/query.py: the hash
chains, the links between a process's files, each file's end — and the signed checkpoints where the
journal has them). On top of that, what only a database can get wrong:

- a line number missing from a segment (a row deleted) or present twice (a row inserted);
- a row whose indexed columns (decision id, time, client, subject) disagree with its own line —
  queries use those columns, so such a row would make the parent's question lie;
- a segment whose recorded position (lines, last line's hash) disagrees with its rows (a tail cut off).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import orjson
import psycopg

from ..segment import write_position
from .journal import parse_time

ROWS_PER_FETCH = 5000


@dataclass
class StoreReport:
    """What the store-only checks found, and where the segments were rebuilt for the chain checks."""

    segments: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


@dataclass
class _Segment:
    segment_id: str
    file: str
    host: str
    lines: int
    last_hash: str | None


def _segments(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, _Segment]:
    rows = conn.execute("SELECT segment_id, file, host, lines, last_hash FROM segments").fetchall()
    conn.rollback()
    return {str(sid): _Segment(str(sid), str(file), str(host or "unknown-host"), int(str(lines)),
                               None if last is None else str(last)) for sid, file, host, lines, last in rows}


def _rows(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[tuple[Any, ...]]:
    """Every stored line, by segment and line number: decisions with their indexed columns, then events."""
    with conn.cursor(name="poortwachter_log_verify") as cur:
        cur.itersize = ROWS_PER_FETCH
        cur.execute("""SELECT segment_id, line_no, raw, 'decision' AS kind, decision_id, time, client, subject_id
                       FROM decisions
                       UNION ALL
                       SELECT segment_id, line_no, raw, event, NULL, time, NULL, NULL FROM journal_events
                       ORDER BY 1, 2""")
        yield from cur
    conn.rollback()


def _line(kind: str, raw: str) -> bytes:
    if kind == "undecodable":
        return base64.b64decode(raw) + b"\n"
    return raw.encode("utf-8") + b"\n"


def _columns(where: str, raw: str, decision_id: Any, when: Any, client: Any, subject_id: Any) -> list[str]:
    """Whether a decision row's indexed columns say what its line says."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [f"{where}: the stored line is not JSON"]
    record = record if isinstance(record, dict) else {}
    subject = record.get("subject")
    wrong = []
    if record.get("decision_id") != decision_id:
        wrong.append("decision_id")
    logged_time = parse_time(record.get("time"))
    if logged_time is not None and logged_time != when:
        wrong.append("time")
    if (record.get("client") if isinstance(record.get("client"), str) else None) != client:
        wrong.append("client")
    logged_subject = subject.get("id") if isinstance(subject, dict) else None
    if (logged_subject if isinstance(logged_subject, str) else None) != subject_id:
        wrong.append("subject_id")
    if wrong:
        return [f"{where} (decision {decision_id}): column(s) {', '.join(wrong)} differ from the record's own line — "
                f"queries on them would answer wrongly (changed in the database)"]
    return []


def _removed(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, list[tuple[int, int]]]:
    """Line ranges retention removed, per segment."""
    out: dict[str, list[tuple[int, int]]] = {}
    for sid, lo, hi in conn.execute("SELECT segment_id, first_line, last_line FROM retention_removed"):
        out.setdefault(str(sid), []).append((int(str(lo)), int(str(hi))))
    conn.rollback()
    return out


def rebuild(conn: psycopg.Connection[tuple[object, ...]], workdir: Path) -> StoreReport:
    """Write every stored segment to ``workdir/<host>/<file>`` (with a checkpoint from the store's position)
    and run the store-only checks; the folders are then checked like local ones. A segment retention
    has thinned out is chain-checked here instead, across its remaining lines."""
    report = StoreReport()
    removed = _removed(conn)
    known = _segments(conn)
    report.segments = len(known)
    used: set[Path] = set()
    for sid, rows in groupby(_rows(conn), key=lambda r: str(r[0])):
        seg = known.pop(sid, None)
        if seg is None:
            report.problems.append(f"rows of segment {sid[:16]}… which the store does not list (inserted?)")
            seg = _Segment(sid, f"unlisted-{sid[:16]}.jsonl", "unlisted", 0, None)
        lines, retained = _check_rows(seg, list(rows), removed.get(sid, []), report)
        report.lines += len(lines)
        if retained:
            report.notes.append(f"{seg.file}: {retained} line(s) removed by retention; its remaining lines are "
                                f"chain-checked between the gaps")
            _chain(seg, lines, report)
            continue
        path = workdir / _safe(seg.host) / _safe(seg.file)
        if path in used:
            path = path.with_name(f"{path.stem}-{sid[:8]}{path.suffix}")
        used.add(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent not in report.folders:
            report.folders.append(path.parent)
        path.write_bytes(b"".join(line for _, line, _ in lines))
        if seg.lines and seg.last_hash:
            write_position(path, seg.lines, seg.last_hash)
    for seg in known.values():
        if seg.lines and seg.segment_id in removed:
            report.notes.append(f"{seg.file}: removed by retention")
        elif seg.lines:
            report.problems.append(f"{seg.file}: the store lists {seg.lines} shipped lines but holds none of them")
    return report


def _check_rows(seg: _Segment, rows: list[tuple[Any, ...]], removed: list[tuple[int, int]],
                report: StoreReport) -> tuple[list[tuple[int, bytes, bool]], int]:
    """Line numbers (gaps, doubles), indexed columns, the store's position. The lines as (n, bytes, whether
    a gap retention explains comes right before it) and how many lines retention explains."""
    lines: list[tuple[int, bytes, bool]] = []
    expected = 1
    retained = 0
    for _, line_no, raw, kind, decision_id, when, client, subject_id in rows:
        n = int(str(line_no))
        where = f"{seg.file} line {n}"
        if n < expected:
            report.problems.append(f"{where}: stored twice (a row was inserted)")
            continue
        after_gap = False
        if n > expected:
            if any(lo <= expected and n - 1 <= hi for lo, hi in removed):
                retained += n - expected
                after_gap = True
            else:
                missing = f"line {expected}" if n == expected + 1 else f"lines {expected}–{n - 1}"
                report.problems.append(f"{seg.file}: {missing} missing from the store (deleted rows)")
        lines.append((n, _line(str(kind), str(raw)), after_gap))
        expected = n + 1
        if kind == "decision":
            report.problems += _columns(where, str(raw), decision_id, when, client, subject_id)
    have = lines[-1][0] if lines else 0
    if have < seg.lines and any(lo <= have + 1 and seg.lines <= hi for lo, hi in removed):
        retained += seg.lines - have
    elif have < seg.lines:
        report.problems.append(f"{seg.file}: the store's position says {seg.lines} lines were shipped but the "
                               f"last stored is line {have}: the tail was removed")
    elif seg.last_hash is not None and have == seg.lines and hashlib.sha256(lines[-1][1]).hexdigest() != seg.last_hash:
        report.problems.append(f"{seg.file}: line {have} is not the line that was shipped last (changed)")
    return lines, retained


def _chain(seg: _Segment, lines: list[tuple[int, bytes, bool]], report: StoreReport) -> None:
    """The hash chain between the gaps retention left (the file checks need every line)."""
    prev: str | None = None
    for n, line, after_gap in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        if prev is not None and not after_gap and (not isinstance(record, dict) or record.get("prev") != prev):
            report.problems.append(f"{seg.file} line {n}: hash chain broken (a line before it was changed or removed)")
        prev = hashlib.sha256(line).hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.:" else "_" for c in name)[:200] or "_"
