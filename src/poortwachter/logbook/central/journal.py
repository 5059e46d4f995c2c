"""The local journal as the shipper sees it: segments (files), their complete lines, how far each is read.

A segment is one journal file (``decisions-*.jsonl``, or its gzipped copy); its id is the SHA-256 of
its first line (the open line names host, pid and the µs it was opened), so it stays the same when
the file is compressed or moved and differs between any two files of a fleet. Only complete lines
count (ending in a newline): a torn last line, left by a process killed while writing, never ships.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ..query import log_files
from ..segment import is_final

READ_BLOCK = 4 * 1024 * 1024
MAX_FIRST_LINE = 64 * 1024


@dataclass
class Position:
    """Complete lines and bytes from the start of a segment."""

    lines: int = 0
    bytes: int = 0


@dataclass
class Segment:
    path: Path
    segment_id: str
    host: str | None
    opened: datetime | None
    shipped: Position = field(default_factory=Position)
    seen: Position = field(default_factory=Position)
    closed: bool = False  # its close line was seen: nothing more will be written to it

    @property
    def gz(self) -> bool:
        return self.path.name.endswith(".gz")

    @property
    def pending(self) -> int:
        return max(0, self.seen.lines - self.shipped.lines)

    @property
    def pending_bytes(self) -> int:
        return max(0, self.seen.bytes - self.shipped.bytes)


def _open(path: Path) -> Any:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115


def segment_id(first_line: bytes) -> str:
    return hashlib.sha256(first_line).hexdigest()


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def open_segment(path: Path) -> Segment | None:
    """The segment of a file, or None while its first line is not complete (being created)."""
    try:
        with _open(path) as fh:
            first = fh.readline(MAX_FIRST_LINE)
    except (OSError, EOFError):
        return None
    if not first.endswith(b"\n"):
        return None
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        head = {}
    head = head if isinstance(head, dict) else {}
    host = head.get("host") if isinstance(head.get("host"), str) else None
    return Segment(path, segment_id(first), host, parse_time(head.get("time")))


def _complete(data: bytes) -> bytes:
    """``data`` up to and including its last newline."""
    end = data.rfind(b"\n")
    return data[:end + 1] if end >= 0 else b""


def scan(segment: Segment) -> None:
    """Count the complete lines written since the last scan (``seen``); note a close line."""
    path = segment.path
    if segment.gz:
        if segment.seen.bytes:
            return  # a compressed file no longer changes
        with _open(path) as fh:
            data = _complete(fh.read())
        _seen(segment, data)
        return
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size <= segment.seen.bytes:
        return
    with open(path, "rb") as fh:
        fh.seek(segment.seen.bytes)
        while True:
            data = _complete(fh.read(READ_BLOCK))
            if not data:
                return
            _seen(segment, data)
            fh.seek(segment.seen.bytes)


def _seen(segment: Segment, data: bytes) -> None:
    if not data:
        return
    segment.seen.lines += data.count(b"\n")
    segment.seen.bytes += len(data)
    last = data[data.rfind(b"\n", 0, len(data) - 1) + 1:]
    segment.closed = is_final(last)


def read_lines(segment: Segment, start: Position, max_lines: int) -> list[bytes]:
    """Up to ``max_lines`` complete lines from ``start`` (never past what was seen)."""
    limit = segment.seen.bytes - start.bytes
    if limit <= 0 or max_lines <= 0:
        return []
    with _open(segment.path) as fh:
        if segment.gz:
            fh.read(start.bytes)
        else:
            fh.seek(start.bytes)
        lines: list[bytes] = []
        taken = 0
        while len(lines) < max_lines and taken < limit:
            line = fh.readline()
            if not line.endswith(b"\n"):
                break
            lines.append(line)
            taken += len(line)
    return lines


def first_pending_time(segment: Segment) -> datetime | None:
    """The time of the first line not yet shipped (for the oldest-pending age)."""
    lines = read_lines(segment, segment.shipped, 1)
    if not lines:
        return None
    try:
        record = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        return segment.opened
    return (parse_time(record.get("time")) if isinstance(record, dict) else None) or segment.opened


class Journal:
    """The segments of one journal folder, found and scanned incrementally."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.segments: dict[str, Segment] = {}  # by segment id
        self._by_name: dict[str, str] = {}

    def refresh(self) -> list[Segment]:
        """Find new files, scan new lines; the segments oldest first."""
        for path in log_files(self.directory):
            sid = self._by_name.get(path.name)
            if sid is None:
                found = open_segment(path)
                if found is None:
                    continue
                sid = found.segment_id
                self._by_name[path.name] = sid
                known = self.segments.get(sid)
                if known is None:
                    self.segments[sid] = found
                elif known.path != path:  # compressed or moved: same segment, new file
                    known.path = path
            segment = self.segments[sid]
            if not segment.closed or segment.gz:
                scan(segment)
        gone = [name for name, sid in self._by_name.items() if not (self.directory / name).exists()]
        for name in gone:
            del self._by_name[name]
        present = set(self._by_name.values())
        for sid in [s for s in self.segments if s not in present]:
            del self.segments[sid]
        return sorted(self.segments.values(), key=lambda s: s.path.name)
