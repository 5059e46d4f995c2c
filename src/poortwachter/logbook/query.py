"""Reading the decision log: who decided what about whom, when — and what exactly was searched.

This is how a parent's question "who has seen my child's dossier?" (toolkit-jgz-2026 §7 and §9: the right to see
the logboek) is answered: the client id they give is pseudonymised with the same key the service used,
and every record carrying that pseudonym is listed. Files may be gzip-compressed by the operator after
rotation (``*.jsonl.gz``); they are read the same way.

**A false "nobody looked" is the worst answer this tool can give** (issue 12). So a search never
answers with a bare count: :func:`search_report` returns a :class:`SearchReport` that says which
stores (folders, searched recursively: a volume root with ``decisions/<pod>/`` folders is one store)
and files were read, how many records they hold and from when to when, how many fell in the asked
window, and whether there was anything to search at all. Every output (text, JSON, summary, the
parent's HTML page) and every backend (the folders here, PostgreSQL in the central store) speaks
through this one report.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from .segment import log_files, read_lines
from .verify import FileReport, verify

__all__ = ["FileReport", "Query", "SearchReport", "StoreSearched", "log_files", "read_records", "record_time",
           "render_text", "search", "search_report", "verify"]

Outcome = Literal["found", "none-found", "nothing-to-search"]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def record_time(record: dict[str, Any]) -> datetime:
    """A record's time (aware; the epoch when it has none a reader can parse)."""
    try:
        when = datetime.fromisoformat(record["time"])
    except (KeyError, TypeError, ValueError):
        return _EPOCH
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _file_records(path: Path, on_problem: Callable[[str], None] | None) -> Iterator[tuple[datetime, dict[str, Any]]]:
    for n, line in enumerate(read_lines(path), 1):
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
        if isinstance(record, dict) and "event" not in record:
            yield record_time(record), record


def _unique_files(directories: Iterable[Path]) -> list[Path]:
    """The files of all folders, each once (``--dir a --dir a/b`` must not count a/b twice)."""
    seen: set[Path] = set()
    out = []
    for directory in directories:
        for path in log_files(directory):
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                out.append(path)
    return out


def _as_dirs(directories: Path | Sequence[Path]) -> list[Path]:
    return [directories] if isinstance(directories, Path) else list(directories)


def read_records(directories: Path | Sequence[Path], *, since: datetime | None = None, until: datetime | None = None,
                 on_problem: Callable[[str], None] | None = None) -> Iterator[dict[str, Any]]:
    """Decision records (not the open/checkpoint lines) with ``since <= time < until``, in time order.

    Each file is in the order its process wrote it; the files of several workers, pods and folders
    are merged by time as they are read, so memory stays flat however large the log.
    """
    streams = [_file_records(path, on_problem) for path in _unique_files(_as_dirs(directories))]
    for when, record in heapq.merge(*streams, key=lambda pair: pair[0]):
        if (since is None or when >= since) and (until is None or when < until):
            yield record


@dataclass(frozen=True)
class Query:
    """Filters; every given one must match. ``client`` and ``subject`` are predicates on the logged
    (pseudonymised) value, or for ``subject`` the value as logged."""

    client: Callable[[str], bool] | None = None
    subject: Callable[[str], bool] | str | None = None
    action: str | None = None
    decision: str | None = None
    decision_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, r: dict[str, Any]) -> bool:
        if self.client is not None and not (isinstance(r.get("client"), str) and self.client(r["client"])):
            return False
        if self.subject is not None:
            logged = (r.get("subject") or {}).get("id")
            if not isinstance(logged, str):
                return False
            if not (self.subject(logged) if callable(self.subject) else logged == self.subject):
                return False
        if self.action is not None and r.get("action") != self.action:
            return False
        if self.decision is not None and r.get("decision") != self.decision:
            return False
        return self.decision_id is None or r.get("decision_id") == self.decision_id


def search(directories: Path | Sequence[Path], query: Query,
           on_problem: Callable[[str], None] | None = None) -> Iterator[dict[str, Any]]:
    for record in read_records(directories, since=query.since, until=query.until, on_problem=on_problem):
        if query.matches(record):
            yield record


# ---------------------------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class StoreSearched:
    """One store a search read: a folder (with its subfolders) or a database.

    ``location`` names it without secrets (a path, or a DSN without its password); ``found`` is False
    when it does not exist or cannot be read (``why`` says so); ``files`` counts journal files read
    (0 for a database); ``records``, ``first`` and ``last``: the decision records it holds, all times."""

    location: str
    kind: Literal["folder", "postgresql"] = "folder"
    found: bool = True
    files: int = 0
    records: int = 0
    first: datetime | None = None
    last: datetime | None = None
    why: str | None = None

    def describe(self) -> str:
        if not self.found:
            return f"{self.kind} {self.location}: {self.why or 'not found'}"
        held = f"{self.records} record(s)" + (f" from {_iso(self.first)} to {_iso(self.last)}" if self.records else "")
        files = f", {self.files} file(s)" if self.kind == "folder" else ""
        return f"{self.kind} {self.location}{files}, {held}"


def _iso(when: datetime | None) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if when else "-"


@dataclass(frozen=True)
class SearchReport:
    """What a search found **and what it searched**: the one answer every output format renders.

    ``records`` is what the stores hold (all times); ``in_window`` how many of those fall in
    ``since``/``until`` and were checked against the filters; ``matches`` the records that matched, in
    time order. :attr:`outcome` tells "found", "none-found" (records were searched, none matched) and
    "nothing-to-search" (no store holds a record, or a store is missing) apart: the last is never a
    "nobody looked"."""

    stores: tuple[StoreSearched, ...]
    since: datetime | None = None
    until: datetime | None = None
    in_window: int = 0
    matches: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def files(self) -> int:
        return sum(s.files for s in self.stores)

    @property
    def records(self) -> int:
        return sum(s.records for s in self.stores)

    @property
    def first(self) -> datetime | None:
        return min((s.first for s in self.stores if s.first is not None), default=None)

    @property
    def last(self) -> datetime | None:
        return max((s.last for s in self.stores if s.last is not None), default=None)

    @property
    def missing(self) -> tuple[StoreSearched, ...]:
        return tuple(s for s in self.stores if not s.found)

    @property
    def outcome(self) -> Outcome:
        """A store that could not be read turns "none found" into "nothing to search": the answer
        would not cover it. What was found is found (the statement names what was not searched)."""
        if self.matches:
            return "found"
        return "nothing-to-search" if self.missing or self.records == 0 else "none-found"

    def statement(self) -> str:
        """One plain sentence: what was found in what, or why there was nothing to search."""
        where = f"{len(self.stores)} store(s), {self.files} file(s)"
        if self.outcome == "nothing-to-search":
            why = "; ".join(s.describe() for s in self.missing) or f"no decision records in {where}"
            return f"nothing to search: {why}. This is NOT an answer that nobody had access."
        span = f"{self.records} record(s) from {_iso(self.first)} to {_iso(self.last)} ({where})"
        window = ""
        if self.since is not None or self.until is not None:
            window = f", of which {self.in_window} in the window {_iso(self.since)} to {_iso(self.until)}"
        if self.outcome == "found":
            unread = "".join(f"; NOT searched: {s.describe()}" for s in self.missing)
            return f"{len(self.matches)} decision(s) found in {span}{window}{unread}"
        return f"no access found in {span}{window}"

    def as_json(self) -> dict[str, Any]:
        """The report without the matches (they are printed one per line): for ``--format json``."""
        return {"outcome": self.outcome, "statement": self.statement(), "matches": len(self.matches),
                "records": self.records, "in_window": self.in_window, "files": self.files,
                "first": _iso(self.first) if self.first else None, "last": _iso(self.last) if self.last else None,
                "since": _iso(self.since) if self.since else None, "until": _iso(self.until) if self.until else None,
                "stores": [{"location": s.location, "kind": s.kind, "found": s.found, "files": s.files,
                            "records": s.records, "first": _iso(s.first) if s.first else None,
                            "last": _iso(s.last) if s.last else None, "why": s.why} for s in self.stores],
                "problems": list(self.problems)}


@dataclass
class _Tally:
    files: int = 0
    records: int = 0
    first: datetime | None = None
    last: datetime | None = None
    problems: list[str] = field(default_factory=list)

    def count(self, pairs: Iterator[tuple[datetime, dict[str, Any]]]) -> Iterator[tuple[datetime, dict[str, Any]]]:
        for when, record in pairs:
            self.records += 1
            if self.first is None or when < self.first:
                self.first = when
            if self.last is None or when > self.last:
                self.last = when
            yield when, record


def _folder_missing(directory: Path) -> str | None:
    if not directory.exists():
        return "the folder does not exist"
    if not directory.is_dir():
        return "not a folder"
    if not os.access(directory, os.R_OK | os.X_OK):
        return "the folder cannot be read"
    return None


def search_report(directories: Sequence[Path], query: Query) -> SearchReport:
    """Search every folder (recursively) and say what was searched. Every record of every file is
    read (to count what the stores hold and from when to when), so the answer covers everything."""
    tallies: list[tuple[Path, _Tally, str | None]] = []
    streams = []
    seen: set[Path] = set()
    for directory in directories:
        tally = _Tally()
        why = _folder_missing(directory)
        tallies.append((directory, tally, why))
        if why is not None:
            continue
        for path in log_files(directory):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            tally.files += 1
            streams.append(tally.count(_file_records(path, tally.problems.append)))
    in_window = 0
    matches = []
    for when, record in heapq.merge(*streams, key=lambda pair: pair[0]):
        if (query.since is not None and when < query.since) or (query.until is not None and when >= query.until):
            continue
        in_window += 1
        if query.matches(record):
            matches.append(record)
    stores = tuple(StoreSearched(str(d), "folder", why is None, t.files, t.records, t.first, t.last, why)
                   for d, t, why in tallies)
    return SearchReport(stores, query.since, query.until, in_window, tuple(matches),
                        tuple(p for _, t, _ in tallies for p in t.problems))


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
