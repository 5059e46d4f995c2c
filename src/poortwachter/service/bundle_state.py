"""The bundle store's admin state, shared by every worker process through one folder (``state_dir``).

What the workers share, so that they all activate the same set (service/store.py says how it is used):

- ``last-good.json``: per file of the bundle folder, the revision it last held that verified, and the
  file's change time then. A refused file (corrupt, unsigned, half-written) falls back to that revision,
  loaded from the archive, in every worker, including one started after the file went bad;
- ``archive/``: the exact bytes of every artifact ever loaded, by revision (re-verified on every use);
- ``holds.json`` (admin roll-back/activate), ``shadow.json`` (shadow candidates), ``reload-stamp``.

Files are replaced by atomic renames; a read-modify-write of the record happens under an exclusive
``flock`` of ``.lock``, so two workers reloading at once never lose each other's update. A single
process without a state folder keeps the same state in memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ..artifacts.artifact import SUFFIX

log = logging.getLogger("poortwachter.store")

HOLDS_FILE = "holds.json"
SHADOW_FILE = "shadow.json"
LAST_GOOD_FILE = "last-good.json"
RELOAD_STAMP = "reload-stamp"
LOCK_FILE = ".lock"
ARCHIVE = "archive"


@dataclass(frozen=True)
class Hold:
    """A name pinned to ``revisions`` while the folder still offers ``disk`` for it."""

    revisions: tuple[str, ...]
    disk: tuple[str, ...]
    reason: str
    at: str


@dataclass(frozen=True)
class Good:
    """The last revision a bundle-folder file held that verified, and the file's ctime (ns) when it was read
    (a worker only records what the file still holds when it takes the lock)."""

    revision: str
    changed_ns: int


class MemoryState:
    """Admin state of a single-process store (the store's own lock serialises every change)."""

    def __init__(self) -> None:
        self.holds: dict[str, Hold] = {}
        self.shadows: dict[str, tuple[str, str]] = {}
        self.last_good: dict[str, Good] = {}
        self.archive: dict[str, bytes] = {}

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        yield

    def read_holds(self) -> dict[str, Hold]:
        return dict(self.holds)

    def write_holds(self, holds: dict[str, Hold]) -> None:
        self.holds = dict(holds)

    def read_shadows(self) -> dict[str, tuple[str, str]]:
        return dict(self.shadows)

    def write_shadows(self, shadows: dict[str, tuple[str, str]]) -> None:
        self.shadows = dict(shadows)

    def read_last_good(self) -> dict[str, Good]:
        return dict(self.last_good)

    def write_last_good(self, record: dict[str, Good]) -> None:
        self.last_good = dict(record)

    def put(self, revision: str, raw: bytes) -> None:
        self.archive.setdefault(revision, raw)

    def get(self, revision: str) -> bytes | None:
        return self.archive.get(revision)

    def stamp(self) -> None:
        pass


class FolderState:
    """Admin state shared by worker processes through a folder (atomic renames; one flock for the record)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / ARCHIVE).mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across the worker processes sharing this folder."""
        fd = os.open(self.folder / LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def read_holds(self) -> dict[str, Hold]:
        try:
            data = orjson.loads((self.folder / HOLDS_FILE).read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as exc:
            log.error("state %s unreadable, ignoring holds: %s", self.folder / HOLDS_FILE, exc)
            return {}
        return {n: Hold(tuple(h["revisions"]), tuple(h["disk"]), h["reason"], h["at"]) for n, h in data.items()}

    def write_holds(self, holds: dict[str, Hold]) -> None:
        self._write(self.folder / HOLDS_FILE, orjson.dumps(
            {n: {"revisions": h.revisions, "disk": h.disk, "reason": h.reason, "at": h.at} for n, h in holds.items()}))

    def read_shadows(self) -> dict[str, tuple[str, str]]:
        """name → (candidate revision, since)."""
        try:
            data = orjson.loads((self.folder / SHADOW_FILE).read_bytes())
            return {n: (str(s["revision"]), str(s["since"])) for n, s in data.items()}
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
            log.error("state %s unreadable, no shadow evaluation: %s", self.folder / SHADOW_FILE, exc)
            return {}

    def write_shadows(self, shadows: dict[str, tuple[str, str]]) -> None:
        self._write(self.folder / SHADOW_FILE, orjson.dumps(
            {n: {"revision": r, "since": since} for n, (r, since) in shadows.items()}))

    def read_last_good(self) -> dict[str, Good]:
        """file → Good. An unreadable record is logged and read as empty: the folder alone decides then."""
        try:
            data = orjson.loads((self.folder / LAST_GOOD_FILE).read_bytes())
            return {str(f): Good(str(g["revision"]), int(g["changed_ns"])) for f, g in data.items()}
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            log.error("state %s unreadable, no last-good fallback: %s", self.folder / LAST_GOOD_FILE, exc)
            return {}

    def write_last_good(self, record: dict[str, Good]) -> None:
        self._write(self.folder / LAST_GOOD_FILE, orjson.dumps(
            {f: {"revision": g.revision, "changed_ns": g.changed_ns} for f, g in sorted(record.items())}))

    def _archived(self, revision: str) -> Path:
        return self.folder / ARCHIVE / (revision.replace(":", "-") + SUFFIX)

    def put(self, revision: str, raw: bytes) -> None:
        path = self._archived(revision)
        if not path.exists():
            self._write(path, raw)

    def get(self, revision: str) -> bytes | None:
        try:
            return self._archived(revision).read_bytes()
        except OSError:
            return None

    def stamp(self) -> None:
        self._write(self.folder / RELOAD_STAMP, datetime.now(UTC).isoformat().encode())
