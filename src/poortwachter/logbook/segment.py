"""The decision log's files (segments): naming, the hash chain, checkpoints and the ``.head`` copy.

Files: ``<dir>/decisions-<UTC start>-p<pid>.jsonl``, one writer (process) per file, so several worker
processes share a directory without locks. Each file begins with an ``open`` line naming the previous
file of the same process and its last line's hash; each line carries ``prev``, the SHA-256 of the
line before it; every batch ends in a signed checkpoint line (checkpoint.py), and the last one of a
file says whether it was ``rotated`` (naming its successor) or ``closed``. Beside each file,
``<file>.head`` holds a copy of the newest checkpoint line, rewritten in place after every group
commit (synced at most ``sync_seconds`` apart and on close) in two alternating slots, so a torn write
leaves the other slot intact. A new file is written under a hidden name and renamed once its start and
its ``.head`` are durable, so a file never shows without its copy.

:class:`Segments` is the writer thread's side of this (one instance, one thread, no locks);
``writer.py`` owns the queue, the waits and the health around it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import orjson

from .checkpoint import MAX_LEAVES, Checkpoint, End, Signer, hash_and_leaf
from .record import SCHEMA_VERSION, utc_iso

FILE_PREFIX = "decisions"
FILE_SUFFIX = ".jsonl"
HEAD_SUFFIX = ".head"  # the copy of the newest checkpoint beside each file
HEAD_SLOT = 8192  # bytes per slot; a checkpoint line of MAX_LEAVES leaves is about 5 kB


def head_path(log_file: Path) -> Path:
    """The checkpoint copy of a log file (also of its gzipped copy)."""
    name = log_file.name.removesuffix(".gz")
    return log_file.with_name(name + HEAD_SUFFIX)


def unborn_path(log_file: Path) -> Path:
    """Where a new file is written until its start is durable: hidden, and no log file's name."""
    return log_file.with_name(f".{log_file.name}.new")


def _slot(checkpoint_line: bytes) -> bytes:
    """One ``.head`` slot holding a checkpoint line."""
    return checkpoint_line.rstrip(b"\n").ljust(HEAD_SLOT - 1) + b"\n"


def _is_log_file(name: str) -> bool:
    return name.startswith(f"{FILE_PREFIX}-") and name.endswith((".jsonl", ".jsonl.gz"))


def log_files(directory: Path) -> list[Path]:
    """The log files in a folder and every folder below it, oldest first within each folder (names start
    with the UTC time they were opened). Symbolic links to folders are not followed (no loops)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(Path(root) / name for name in sorted(files) if _is_log_file(name))
    return found


def read_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    """The lines of a log file, gzip-compressed or not."""
    with opener(path, "rb") as fh:
        yield from fh


def is_final(line: bytes) -> bool:
    """Whether a line ends its file: a checkpoint that says ``rotated`` or ``closed`` (or the ``close``
    line of files written before checkpoints): nothing more will be written to that file."""
    if not line.startswith(b'{"v":'):
        return False
    if b'"event":"close"' in line[:64]:
        return True
    if b'"event":"checkpoint"' not in line[:64]:
        return False
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("end") is not None


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def close_quietly(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def unlink_quietly(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


@dataclass(frozen=True, slots=True)
class Head:
    """What a ``.head`` says about its file: line ``lines`` has the hash ``last``; when it is a copy of a
    checkpoint line, ``checkpoint`` is that checkpoint (its signature can be checked)."""

    lines: int
    last: str
    checkpoint: Checkpoint | None = None


def read_head(path: Path) -> Head | None:
    """The ``.head`` beside ``path``: the newest checkpoint copy (the valid slot with most lines), or a plain
    position (``{"lines": n, "last": hash}``: files of earlier versions, segments rebuilt from the central
    store); None when there is none. ValueError when it exists but says neither."""
    try:
        raw = head_path(path).read_bytes()
    except FileNotFoundError:
        return None
    best: Head | None = None
    for start in range(0, len(raw), HEAD_SLOT):
        line = raw[start:start + HEAD_SLOT].rstrip(b" \n\0") + b"\n"
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        try:
            cp = Checkpoint.parse(data)
            head = Head(cp.lines + 1, hashlib.sha256(line).hexdigest(), cp)
        except ValueError:
            if not (isinstance(data, dict) and type(data.get("lines")) is int and isinstance(data.get("last"), str)):
                continue
            head = Head(data["lines"], data["last"])
        if best is None or head.lines > best.lines:
            best = head
    if best is None:
        raise ValueError(f"checkpoint copy {head_path(path).name} holds no readable checkpoint")
    return best


def write_position(path: Path, lines: int, last: str) -> None:
    """A ``.head`` that records only a position (line ``lines`` has hash ``last``), e.g. what the central
    store says a segment held; verify checks the file against it like against a checkpoint copy."""
    head_path(path).write_bytes(orjson.dumps({"v": 1, "file": path.name, "lines": lines, "last": last}) + b"\n")


@dataclass(slots=True)
class Chain:
    """One segment's running state: the chain head and what the next checkpoint will cover."""

    segment: str
    prev_segment: str | None
    prev_segment_head: str | None
    head: str | None = None
    lines: int = 0
    records: int = 0
    checkpoints: int = 0
    leaves: list[str] = field(default_factory=list)
    first_time: str | None = None
    last_time: str | None = None

    def copy(self) -> Chain:
        """A copy to build a batch on (once per group commit; the constructor, not ``dataclasses.replace``)."""
        return Chain(segment=self.segment, prev_segment=self.prev_segment, prev_segment_head=self.prev_segment_head,
                     head=self.head, lines=self.lines, records=self.records, checkpoints=self.checkpoints,
                     leaves=list(self.leaves), first_time=self.first_time, last_time=self.last_time)

    def add(self, line: bytes, time: str | None = None) -> None:
        """Account for one line written (``time``: a record's, None for other lines)."""
        self.head, line_leaf = hash_and_leaf(line)
        self.lines += 1
        self.leaves.append(line_leaf)
        if time is not None:
            self.records += 1
            self.first_time = self.first_time or time
            self.last_time = time

    def checkpoint(self, signer: Signer | None, now: float, end: End | None = None,
                   next_segment: str | None = None) -> bytes:
        """The checkpoint line over the lines since the last one (signed when there is a signer)."""
        self.checkpoints += 1
        cp = Checkpoint(self.segment, self.checkpoints, self.lines, self.records, self.head, tuple(self.leaves),
                        self.first_time, self.last_time, self.prev_segment, self.prev_segment_head, end, next_segment,
                        utc_iso(int(now * 1e9)))
        if signer is not None:
            cp = signer.sign(cp)
        line = cp.line(self.head)
        self.leaves = []
        self.head = hashlib.sha256(line).hexdigest()
        self.lines += 1
        return line

    @property
    def full(self) -> bool:
        return len(self.leaves) >= MAX_LEAVES


T = TypeVar("T")
Encoded = tuple[bytes, bool, "str | None"]  # the line, whether it is the full record, the record's time


class Segments:
    """The files of one writer: open, append (with checkpoints), rotate, close. Writer thread only."""

    def __init__(self, directory: Path, signer: Signer | None, *, key_id: str, durability: str,
                 clock: Callable[[], float]) -> None:
        self.directory = directory
        self.signer = signer
        self.key_id = key_id
        self.durability = durability
        self.clock = clock
        self.fd: int | None = None
        self.head_fd: int | None = None
        self.path: Path | None = None
        self.chain: Chain | None = None
        self.size = 0
        self.last_line: bytes = b""  # the newest checkpoint line (copied to .head)
        self.head_slot = 0
        self.link: tuple[str | None, str | None] = (None, None)  # this file's open line: prev_file, prev
        self.opened = 0

    @property
    def records(self) -> int:
        return self.chain.records if self.chain else 0

    def _create(self, now: float) -> tuple[int, int, Path]:
        """A new file's name reserved by creating its ``.head`` (exclusively), and the file itself opened
        under a hidden name: it takes its real name only once its start is durable and its ``.head``
        written (:meth:`open_new`), so a folder verified meanwhile never holds a file without its copy.
        Returns the file's descriptor, the ``.head``'s and the real name."""
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S%fZ")
        for n in range(1000):
            path = self.directory / f"{FILE_PREFIX}-{stamp}-p{os.getpid()}{f'-{n}' if n else ''}{FILE_SUFFIX}"
            try:
                head_fd = os.open(head_path(path), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
            except FileExistsError:
                continue
            if path.exists():  # a file of an earlier version, which wrote its .head after it: not ours to touch
                close_quietly(head_fd)
                unlink_quietly(head_path(path))  # the .head just made for it, empty
                continue
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
                return os.open(unborn_path(path), flags, 0o640), head_fd, path
            except OSError:
                close_quietly(head_fd)
                unlink_quietly(head_path(path))
                raise
        raise OSError(f"cannot find a free file name in {self.directory}")  # pragma: no cover

    def open_new(self) -> float:
        """Start a new file whose open line and first checkpoint are durable, then end the current one
        with a final checkpoint naming the new one (``rotated``). A current file that never received a
        record is removed once its successor exists (its link is carried over), and a file that could
        not be started is removed at once: retrying on a full disk leaves no trail of empty files.
        Returns the time the new file was started."""
        old, old_chain = self.path, self.chain
        empty = old is not None and old_chain is not None and old_chain.records == 0
        now = self.clock()
        fd, head_fd, path = self._create(now)
        ending: Chain | None = None
        final: bytes | None = None
        if empty or old is None or old_chain is None:
            link = self.link if empty else (None, None)
        elif self.fd is None:  # abandoned after a failed write: continue from what was committed
            link = (old.name, old_chain.head)
        else:
            ending = old_chain.copy()
            final = ending.checkpoint(self.signer, now, "rotated", path.name)
            link = (old.name, ending.head)
        try:
            header = orjson.dumps({
                "v": SCHEMA_VERSION, "event": "open", "time": utc_iso(int(now * 1e9)), "host": socket.gethostname(),
                "pid": os.getpid(), "key_id": self.key_id, "durability": self.durability,
                "prev_file": link[0], "prev": link[1],
            }) + b"\n"
            new = Chain(path.name, link[0], link[1])
            new.add(header)
            checkpoint = new.checkpoint(self.signer, now)
            write_all(fd, header + checkpoint)
            os.fdatasync(fd)
            os.pwrite(head_fd, _slot(checkpoint), 0)
            os.fdatasync(head_fd)
            os.rename(unborn_path(path), path)
        except OSError:
            close_quietly(fd)
            close_quietly(head_fd)
            unlink_quietly(unborn_path(path), path, head_path(path))
            raise
        if final is not None and ending is not None:
            self._end(final, ending)
        else:
            self.close_file(None)
        self.fd, self.head_fd, self.path, self.chain = fd, head_fd, path, new
        self.size, self.last_line, self.head_slot = len(header) + len(checkpoint), checkpoint, 1
        self.link = link
        if empty and old is not None:
            unlink_quietly(old, head_path(old))
        fsync_dir(self.directory)
        self.opened += 1
        return now

    def _end(self, final: bytes, chain: Chain) -> None:
        """Append the final checkpoint of a rotated file, sync and close it. A failure here shows in
        ``--verify`` (the successor continues from a line the file does not end with)."""
        if self.fd is not None:
            try:
                write_all(self.fd, final)
                self.chain, self.last_line = chain, final
            except OSError:
                pass
        self.close_file(None)

    def write_head(self, sync: bool) -> None:
        """Copy the newest checkpoint line into the next ``.head`` slot, in place."""
        if self.head_fd is None:
            return
        os.pwrite(self.head_fd, _slot(self.last_line), self.head_slot * HEAD_SLOT)
        self.head_slot ^= 1
        if sync:
            os.fdatasync(self.head_fd)

    def serialise(self, items: Sequence[T], encode: Callable[[T, str | None], Encoded]) -> tuple[bytes, Chain, list[int]]:
        """The lines of a batch (``encode`` makes each, given the previous line's hash) with its
        checkpoints, the chain as it will be once they are written, and the indexes of the items that
        became error records. Nothing changes until :meth:`commit` (a rotation may call this again)."""
        assert self.chain is not None
        chain = self.chain.copy()
        now = self.clock()
        out = []
        failed = []
        for n, item in enumerate(items):
            line, ok, time = encode(item, chain.head)
            if not ok:
                failed.append(n)
            out.append(line)
            chain.add(line, time)
            if chain.full:
                out.append(chain.checkpoint(self.signer, now))
        if chain.leaves:
            out.append(chain.checkpoint(self.signer, now))
        return b"".join(out), chain, failed

    def commit(self, data: bytes, chain: Chain) -> None:
        self.size += len(data)
        self.chain = chain
        self.last_line = data[data.rfind(b"\n", 0, len(data) - 1) + 1:]

    def close_file(self, end: End | None, next_segment: str | None = None) -> None:
        """Fsync and close the current file; with ``end``, after a final checkpoint saying so."""
        if self.fd is None:
            close_quietly(self.head_fd)
            self.head_fd = None
            return
        fd, self.fd = self.fd, None
        try:
            if end is not None and self.chain is not None:
                line = self.chain.checkpoint(self.signer, self.clock(), end, next_segment)
                write_all(fd, line)
                self.size += len(line)
                self.last_line = line
            os.fdatasync(fd)
            self.write_head(sync=True)
        except OSError:
            pass
        finally:
            os.close(fd)
            close_quietly(self.head_fd)
            self.head_fd = None

    def abandon(self) -> None:
        """After a failed write the file's state is unknown: never reuse it."""
        close_quietly(self.fd)
        close_quietly(self.head_fd)
        self.fd = self.head_fd = None

    def finish(self) -> None:
        """Close the last file; one that never received a record (a process that decided nothing,
        such as ``serve`` checking its settings) is removed rather than left as clutter."""
        empty = self.records == 0 and self.path is not None
        self.close_file(None if empty else "closed")
        if empty and self.path is not None:
            unlink_quietly(self.path, head_path(self.path))
            try:
                fsync_dir(self.directory)
            except OSError:
                pass
