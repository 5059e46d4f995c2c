"""Reading the decision log: who decided what about whom, when — and is the log intact.

This is how a parent's question "who has seen my child's dossier?" (toolkit-jgz-2026 §7 and §9: the right to see
the logboek) is answered: the client id they give is pseudonymised with the same key the service used,
and every record carrying that pseudonym is listed. Files may be gzip-compressed by the operator after
rotation (``*.jsonl.gz``); they are read the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .writer import FILE_PREFIX, head_path


def log_files(directory: Path) -> list[Path]:
    """The log files of a directory, oldest first (names start with the UTC time they were opened)."""
    files = [p for p in directory.glob(f"{FILE_PREFIX}-*") if p.name.endswith((".jsonl", ".jsonl.gz"))]
    return sorted(files, key=lambda p: p.name)


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        yield from fh


@dataclass
class FileReport:
    """What :func:`verify` found in one file. ``problems`` make it BROKEN; ``notes`` do not."""

    path: Path
    records: int = 0
    problems: list[str] = field(default_factory=list)
    torn_tail: bool = False  # a last line without newline: the process died mid-write (never answered)
    closed: bool = False
    end: str | None = None  # how the file's end was checked: its checkpoint and/or the next file
    notes: list[str] = field(default_factory=list)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _file_records(path: Path, since: datetime | None, until: datetime | None,
                  on_problem: Callable[[str], None] | None) -> Iterator[tuple[datetime, dict[str, Any]]]:
    for n, line in enumerate(_lines(path), 1):
        if not line.endswith(b"\n"):
            if on_problem:
                on_problem(f"{path.name}:{n}: incomplete last line (process stopped while writing)")
            break
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            if on_problem:
                on_problem(f"{path.name}:{n}: not JSON")
            continue
        if not isinstance(record, dict) or "event" in record:
            continue
        try:
            when = _parse_time(record["time"])
        except (KeyError, TypeError, ValueError):
            when = _EPOCH
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if (since is not None and when < since) or (until is not None and when >= until):
            continue
        yield when, record


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_records(directory: Path, *, since: datetime | None = None, until: datetime | None = None,
                 on_problem: Callable[[str], None] | None = None) -> Iterator[dict[str, Any]]:
    """Decision records (not the open/close lines) with ``since <= time < until``, in time order.

    Each file is in the order its process wrote it; the files of several workers (processes) are
    merged by time as they are read, so memory stays flat however large the log.
    """
    files = []
    for path in log_files(directory):
        if until is not None:
            stamp = path.name[len(FILE_PREFIX) + 1:].split("-", 1)[0]
            try:
                if datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC) >= until:
                    continue
            except ValueError:
                pass
        files.append(_file_records(path, since, until, on_problem))
    for _, record in heapq.merge(*files, key=lambda pair: pair[0]):
        yield record


@dataclass(frozen=True)
class Query:
    """Filters; every given one must match. ``client`` is a predicate on the logged (pseudonymised) id."""

    client: Callable[[str], bool] | None = None
    subject: str | None = None
    action: str | None = None
    decision: str | None = None
    decision_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, r: dict[str, Any]) -> bool:
        if self.client is not None and not (isinstance(r.get("client"), str) and self.client(r["client"])):
            return False
        if self.subject is not None and (r.get("subject") or {}).get("id") != self.subject:
            return False
        if self.action is not None and r.get("action") != self.action:
            return False
        if self.decision is not None and r.get("decision") != self.decision:
            return False
        return self.decision_id is None or r.get("decision_id") == self.decision_id


def search(directory: Path, query: Query, on_problem: Callable[[str], None] | None = None) -> Iterator[dict[str, Any]]:
    for record in read_records(directory, since=query.since, until=query.until, on_problem=on_problem):
        if query.matches(record):
            yield record


def _head(path: Path) -> dict[str, Any] | str | None:
    """The file's checkpoint: its content, None when there is none, or a string saying what is wrong."""
    try:
        data = orjson.loads(head_path(path).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        return f"checkpoint {head_path(path).name} unreadable ({exc})"
    if not (isinstance(data, dict) and isinstance(data.get("lines"), int) and isinstance(data.get("last"), str)):
        return f"checkpoint {head_path(path).name} is not a checkpoint"
    return data


def _check_head(report: FileReport, hashes: list[str], head: dict[str, Any] | str | None) -> None:
    if head is None:
        return
    if isinstance(head, str):
        report.problems.append(head)
        return
    lines: int = head["lines"]
    if len(hashes) < lines:
        report.problems.append(f"the file ends after line {len(hashes)} but its checkpoint records {lines} lines: "
                               f"the tail was cut off")
    elif lines < 1 or hashes[lines - 1] != head["last"]:
        report.problems.append(f"line {lines} is not the line the checkpoint recorded: changed after it was written")
    else:
        report.end = "checkpoint"
        if len(hashes) > lines:
            report.notes.append(f"{len(hashes) - lines} line(s) after the checkpoint (written after its last sync "
                                f"before a crash, or a batch whose write failed: never answered)")


def _check_link(report: FileReport, hashes: list[str], successor: str, prev: Any) -> None:
    """``successor``'s open line says this file ended with the line whose hash is ``prev``."""
    where = [i for i, h in enumerate(hashes) if h == prev]
    if not where:
        report.problems.append(f"does not end where {successor} says it ended: the tail was cut off or changed")
        return
    report.end = f"{report.end} and next file" if report.end else "next file"
    after = len(hashes) - where[-1] - 1
    if after:
        report.notes.append(f"{after} line(s) after the point {successor} continues from (a batch whose write "
                            f"failed: never answered)")


def verify(directory: Path) -> list[FileReport]:
    """Check every file's hash chain (each line's ``prev`` is the SHA-256 of the line before) and its
    end: against its checkpoint (``<file>.head``) and the open line of the file that continues it."""
    reports = []
    hashes_of: dict[str, list[str]] = {}
    links: list[tuple[str, str, Any]] = []  # (previous file, this file, the hash it continues from)
    for path in log_files(directory):
        report = FileReport(path)
        head = _head(path)  # before the file: a live writer only ever moves the checkpoint forward
        prev: str | None = None
        hashes: list[str] = []
        first = True
        for n, line in enumerate(_lines(path), 1):
            if not line.endswith(b"\n"):
                report.torn_tail = True
                break
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                report.problems.append(f"line {n}: not JSON")
                prev = hashlib.sha256(line).hexdigest()
                hashes.append(prev)
                continue
            if first:
                if not isinstance(record, dict) or record.get("event") != "open":
                    report.problems.append("line 1: not an open line (file truncated at the front?)")
                elif record.get("prev_file"):
                    links.append((str(record["prev_file"]), path.name, record.get("prev")))
            elif not isinstance(record, dict) or record.get("prev") != prev:
                report.problems.append(f"line {n}: hash chain broken (a line before it was changed or removed)")
            if isinstance(record, dict):
                if record.get("event") == "close":
                    report.closed = True
                elif "event" not in record:
                    report.records += 1
            prev = hashlib.sha256(line).hexdigest()
            hashes.append(prev)
            first = False
        _check_head(report, hashes, head)
        hashes_of[path.name.removesuffix(".gz")] = hashes
        reports.append(report)
    by_name = {r.path.name.removesuffix(".gz"): r for r in reports}
    for before, successor, prev in links:
        if before in by_name:
            _check_link(by_name[before], hashes_of[before], successor, prev)
        else:
            by_name[successor.removesuffix(".gz")].notes.append(f"continues {before}, which is not in this folder")
    for report in reports:
        if report.end is None and not any("checkpoint" in p for p in report.problems):
            report.problems.append(f"the end cannot be checked: no checkpoint ({head_path(report.path).name}) and "
                                   f"no later file continues from it, so a cut-off tail would go unnoticed")
    return reports


def render_text(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One line per decision, the columns a parent or a privacy officer asks about."""
    yield f"{'time':32} {'decision':8} {'action':9} {'subject (type/role)':40} {'item':34} purpose"
    for r in records:
        s = r.get("subject") or {}
        who = f"{s.get('id')} ({s.get('type')}/{s.get('role') or '-'})"
        item = r.get("item") or {}
        what = item.get("category") or item.get("id") or "-"
        extra = " EMERGENCY" if r.get("emergency") else ""
        yield (f"{r.get('time', ''):32} {r.get('decision', ''):8} {r.get('action') or '-':9} {who:40} "
               f"{what!s:34} {r.get('purpose') or '-'}{extra}")
