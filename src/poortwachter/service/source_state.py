"""What the bundle-source poller keeps in ``<state_dir>/source/`` (service/source.py says how it is used):

- ``sets/<hex>/``: each pulled set that verified, its artifacts named ``<name>-<version>.bundle.json``;
- ``current``: a symlink to the set in force, swapped by one atomic rename: the bundle store loads
  ``current`` like any bundle folder, resolving it once per scan, so every worker sees either the old set
  or the new one, whole;
- ``seen.json``: every ``name → version → revision`` ever activated from the source (the high-water mark
  that refuses a replayed older artifact, and a changed artifact under a known version);
- ``status.json``: source, digest, last success, last error (the poller writes, every worker reads);
- ``.poll-lock``: the worker holding its ``flock`` polls; the others follow ``current``.

The folder survives a restart, so a service started while the registry is unreachable serves the last
set that verified (re-verified against the keys as they are then).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("poortwachter.source")

FOLDER = "source"
CURRENT = "current"
SETS = "sets"
SEEN_FILE = "seen.json"
STATUS_FILE = "status.json"
LOCK_FILE = ".poll-lock"
KEEP_SETS = 3  # the set in force and two before it (a follower mid-reload still reads its files)
KEEP_VERSIONS = 50  # per bundle name in seen.json


def source_folder(state_dir: Path) -> Path:
    """The folder the bundle store loads when a bundle source is configured."""
    return Path(state_dir) / FOLDER / CURRENT


def semver(version: str) -> tuple[int, ...]:
    """Versions are validated semver (core/policy/manifest.py) before anything is recorded."""
    return tuple(int(p) for p in version.split(".") if p.isdigit())


@dataclass
class Status:
    """The source's status as the polling worker last wrote it (times in Unix seconds)."""

    source: str
    digest: str | None = None  # of the manifest / index in force
    etag: str | None = None
    last_success: float | None = None  # the last poll that reached the source and found a usable answer
    last_change: float | None = None  # when the set in force was pulled
    last_error: str | None = None  # None after a success
    last_error_cause: str | None = None
    last_error_at: float | None = None
    failures: int = 0  # consecutive
    files: dict[str, str] = field(default_factory=dict)  # file of the set in force → its blob digest

    def as_dict(self, now: float) -> dict[str, Any]:
        """For /v1/bundles and /readyz: with the age of the last success, in seconds."""
        out = {k: v for k, v in asdict(self).items() if k not in ("etag", "files")}
        out["age_seconds"] = None if self.last_success is None else round(max(0.0, now - self.last_success), 1)
        return out


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class SourceState:
    """The poller's files (see the module docstring)."""

    def __init__(self, state_dir: Path, source: str) -> None:
        self.folder = Path(state_dir) / FOLDER
        (self.folder / SETS).mkdir(parents=True, exist_ok=True)
        self.source = source
        self._lock_fd: int | None = None

    # ----------------------------------------------------------------------------- who polls

    def lead(self) -> bool:
        """True once this process holds the poll lock (kept until it exits: the kernel then frees it)."""
        if self._lock_fd is not None:
            return True
        fd = os.open(self.folder / LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ----------------------------------------------------------------------------- status

    def read_status(self) -> Status:
        """The status as last written; a fresh one for a new source (or an unreadable file)."""
        try:
            data = orjson.loads((self.folder / STATUS_FILE).read_bytes())
            status = Status(**data)
        except FileNotFoundError:
            return Status(self.source)
        except (OSError, orjson.JSONDecodeError, TypeError) as exc:
            log.error("bundle source status %s unreadable: %s", self.folder / STATUS_FILE, exc)
            return Status(self.source)
        if status.source != self.source:  # another source was configured before: its digest means nothing here
            return Status(self.source, files=status.files)
        return status

    def write_status(self, status: Status) -> None:
        _write(self.folder / STATUS_FILE, orjson.dumps(asdict(status)))

    # ----------------------------------------------------------------------------- what was activated

    def read_seen(self) -> dict[str, dict[str, str]]:
        """name → version → revision of everything activated from the source. An unreadable record refuses
        nothing (logged): the signature still decides, only the replay guard is lost until the next set."""
        try:
            data = orjson.loads((self.folder / SEEN_FILE).read_bytes())
            return {str(n): {str(v): str(r) for v, r in vs.items()} for n, vs in data.items()}
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            log.error("bundle source record %s unreadable, no replay guard until the next set: %s",
                      self.folder / SEEN_FILE, exc)
            return {}

    def write_seen(self, seen: dict[str, dict[str, str]]) -> None:
        trimmed = {n: dict(sorted(vs.items(), key=lambda kv: semver(kv[0]))[-KEEP_VERSIONS:]) for n, vs in seen.items()}
        _write(self.folder / SEEN_FILE, orjson.dumps(trimmed, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))

    # ----------------------------------------------------------------------------- the sets

    def held(self) -> dict[str, bytes]:
        """blob digest → bytes of the set in force (what need not be fetched again)."""
        out: dict[str, bytes] = {}
        current = self.folder / CURRENT
        with contextlib.suppress(OSError):
            for path in current.iterdir():
                raw = path.read_bytes()
                out["sha256:" + hashlib.sha256(raw).hexdigest()] = raw
        return out

    def install(self, digest: str, files: dict[str, bytes]) -> None:
        """Write a verified set and make it ``current`` (one rename); older sets beyond KEEP_SETS go."""
        name = digest.removeprefix("sha256:")
        target = self.folder / SETS / name
        if not target.is_dir():
            staging = Path(tempfile.mkdtemp(dir=self.folder / SETS, prefix=".tmp-"))
            for file, raw in files.items():
                (staging / file).write_bytes(raw)
            os.replace(staging, target)
        os.utime(target)  # the newest set by time, also when an earlier one comes back
        link = self.folder / f".tmp-{CURRENT}-{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(Path(SETS) / name)
        os.replace(link, self.folder / CURRENT)
        sets = sorted((p for p in (self.folder / SETS).iterdir() if not p.name.startswith(".")),
                      key=lambda p: p.stat().st_mtime)
        for old in sets[:-KEEP_SETS]:
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
