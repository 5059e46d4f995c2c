"""Workers of one service compare the bundle set they decide with, so answers never split quietly.

Every worker process writes ``<state_dir>/workers/<pid>.json`` (its revision-set digest and since when)
whenever its snapshot changes. Readiness reads its siblings' files: a worker whose set has differed from a
live sibling's for longer than ``GRACE_SECONDS`` is not ready, and /readyz names both digests. Within the
grace period workers are converging (the watcher's debounce, or its 30-second resync at worst); a file of a
process that no longer runs is ignored and removed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from . import metrics

FOLDER = "workers"
GRACE_SECONDS = 35.0  # the watcher's full resync (reload.RESYNC_SECONDS, 30 s) plus one reload


def _file(state_dir: Path, pid: int) -> Path:
    return Path(state_dir) / FOLDER / f"{pid}.json"


def publish(state_dir: Path, pid: int, digest: str, now: float) -> None:
    """Record that worker ``pid`` decides with ``digest`` from ``now`` on (atomic replace)."""
    target = _file(state_dir, pid)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".tmp-{pid}.json")
    temp.write_bytes(orjson.dumps({"digest": digest, "since": now}))
    os.replace(temp, target)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _read(path: Path) -> tuple[str, float] | None:
    try:
        data = orjson.loads(path.read_bytes())
        return str(data["digest"]), float(data["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def disagreement(state_dir: Path, pid: int, digest: str, since: float, now: float,
                 alive: Callable[[int], bool] = _alive) -> str | None:
    """Why this worker is out of step with a sibling for longer than the grace period, or None."""
    folder = Path(state_dir) / FOLDER
    try:
        files = sorted(folder.glob("*.json"))
    except OSError:
        return None
    for path in files:
        other = int(path.stem) if path.stem.isdigit() else None
        if other is None or other == pid:
            continue
        if not alive(other):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        theirs = _read(path)
        if theirs is None or theirs[0] == digest:
            continue
        apart = now - max(since, theirs[1])
        if apart > GRACE_SECONDS:
            return (f"worker {pid} decides with revision set {digest[7:19]}, worker {other} with "
                    f"{theirs[0][7:19]}, for {apart:.0f} s (more than {GRACE_SECONDS:g} s: not converging)")
    return None


class Siblings:
    """This worker's side: publish its set on every change (a store listener), check it on /readyz."""

    def __init__(self, state_dir: Path, clock: Callable[[], float] = time.time, pid: int | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.clock = clock
        self.pid = os.getpid() if pid is None else pid
        self.digest = ""
        self.since = 0.0

    def on_swap(self, digest: str) -> None:
        if digest != self.digest:
            self.digest, self.since = digest, self.clock()
            with contextlib.suppress(OSError):  # readiness stays honest: an unpublished set is compared by others
                publish(self.state_dir, self.pid, digest, self.since)

    def check(self) -> str | None:
        """None when in step with every live sibling (or still within the grace period)."""
        found = disagreement(self.state_dir, self.pid, self.digest, self.since, self.clock())
        metrics.siblings_apart(found is not None)
        return found
