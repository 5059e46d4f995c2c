"""Hot reload: watch the bundle folder, the shared state folder and the keys folders; reload on change.

inotify through watchfiles by default; ``reload: poll`` scans instead (network file systems and
Kubernetes ConfigMap mounts, whose atomic symlink swaps some watchers miss). Changes are debounced
so a deploy that writes several artifacts causes one reload. The reload itself runs in a worker
thread, so verifying and compiling never stall the event loop that answers decisions.

The watcher never gives up: a folder that is missing (at start or later), or removed and created again
(a new inode inotify knows nothing of), is noticed within a tick; while the bundle folder cannot be
watched the store says so (``/readyz``, ``poortwachter_bundle_watcher_failing``) and the watcher retries,
reloading once it can watch again. A full reload every ``RESYNC_SECONDS`` bounds how long any missed
event can keep a worker behind (a reload of unchanged files only hashes them). With ``reload: off`` only
the shared state folder is watched: an admin reload, activation or roll-back answered by one worker
reaches its siblings, while changes of the bundle folder wait for an admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from anyio import to_thread
from watchfiles import Change, awatch

from .bundle_state import LOCK_FILE
from .source_state import CURRENT
from .source_state import FOLDER as SOURCE
from .store import ARCHIVE, BundleStore

log = logging.getLogger("poortwachter.reload")

TICK_MS = 500  # how often the watched folders' identity is checked
RETRY_SECONDS = 1.0  # pause before watching again after the watcher failed
RESYNC_SECONDS = 30.0  # a full reload at least this often, events or not


def relevant(archive: Path | None, source: Path | None = None) -> Callable[[Change, str], bool]:
    """Everything but the store's own archive writes, lock and temp files, and the bundle-source poller's
    bookkeeping (only its swap of ``source/current`` matters): artifacts, keys, the state files, and the
    ``..data`` symlink swaps of Kubernetes volume mounts."""

    def check(change: Change, path: str) -> bool:
        p = Path(path)
        if archive is not None and p.is_relative_to(archive):
            return False
        if source is not None and p.is_relative_to(source) and p.name != CURRENT:
            return False
        return not p.name.startswith(".tmp-") and p.name != LOCK_FILE

    return check


async def reload_in_thread(store: BundleStore) -> None:
    report = await to_thread.run_sync(store.reload)
    if report.changed:
        log.info("reload: generation %d, changed %s, refused %s, kept %s", report.generation,
                 report.changed, sorted(report.refused), report.kept)


Fingerprint = frozenset[tuple[str, int, int, int]]


def fingerprint(folders: list[Path], archive: Path | None, source: Path | None) -> Fingerprint:
    """What ``reload: poll`` compares on every tick: (path, inode, modification time in ns, size) of each watched
    file, a symlink by its target (a swapped ``..data`` or ``source/current`` is a new target). The polling
    watcher underneath compares modification times in whole seconds, so a file replaced twice within one
    second looked unchanged to a worker that had polled in between: an admin roll-back reached one worker
    of two, the other kept the old revision until the next full reload (tests/service/test_reload_watch.py)."""
    entries: set[tuple[str, int, int, int]] = set()
    keep = relevant(archive, source)
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            here = Path(root)
            if source is not None and here == source:  # only the swap of current matters there
                dirs[:], files = [], [CURRENT] if (here / CURRENT).is_symlink() else []
            dirs[:] = [d for d in dirs if not (archive is not None and here / d == archive)]
            for name in (*files, *(d for d in dirs if (here / d).is_symlink())):
                path = here / name
                if here != source and not keep(Change.modified, str(path)):
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                entries.add((str(path), st.st_ino, st.st_mtime_ns, st.st_size))
    return frozenset(entries)


def _moved(identities: dict[Path, tuple[int, int] | None]) -> bool:
    """Whether a watched folder appeared, disappeared or was replaced since ``identities`` were taken."""
    return any(_identity(p) != ident for p, ident in identities.items())


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder, None when it is not there: a changed identity needs a new watch."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


async def _watch_once(store: BundleStore, folders: list[Path], archive: Path | None, source: Path | None, mode: str,
                      poll_interval: float, stop: asyncio.Event, debounce_ms: int, resync_seconds: float) -> None:
    """Watch the folders that exist now until one of them appears, disappears or is replaced, or ``stop``."""
    identities = {p: _identity(p) for p in folders}
    bundles = folders[0]
    missing = identities[bundles] is None
    if missing:
        store.watch_status(False, f"the watched folder {bundles} is missing; retrying every {RETRY_SECONDS:g} s")
    await reload_in_thread(store)  # whatever changed while nothing watched
    present = [p.resolve() for p, ident in identities.items() if ident is not None]
    if not present:
        await _pause(stop, RETRY_SECONDS)
        return
    last_reload = time.monotonic()
    polled = await asyncio.to_thread(fingerprint, present, archive, source) if mode == "poll" else frozenset()
    established = False
    async for changes in awatch(*present, watch_filter=relevant(archive, source), debounce=debounce_ms, stop_event=stop,
                                force_polling=mode == "poll", poll_delay_ms=int(poll_interval * 1000),
                                recursive=True, rust_timeout=TICK_MS, yield_on_timeout=True):
        if await asyncio.to_thread(_moved, identities):  # a stat can hang (a network filesystem): not on the loop
            log.warning("a watched folder appeared, disappeared or was replaced; watching again")
            return
        if not established:  # the watch is in place now: a change made while it was being set up is read here
            established = True
            if not missing:
                store.watch_status(True)
            changes = changes or {(Change.modified, str(bundles))}
        if mode == "poll":  # every tick, whatever the polling watcher saw (see fingerprint)
            now = await asyncio.to_thread(fingerprint, present, archive, source)
            if now != polled:
                polled, changes = now, changes or {(Change.modified, str(bundles))}
        if changes or time.monotonic() - last_reload >= resync_seconds:
            last_reload = time.monotonic()
            try:
                await reload_in_thread(store)
            except Exception:
                log.exception("reload failed; the active bundles stay")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def watch(store: BundleStore, folder: Path, state_dir: Path | None, mode: str, poll_interval: float,
                stop: asyncio.Event, debounce_ms: int = 400, resync_seconds: float = RESYNC_SECONDS) -> None:
    """Run until ``stop`` is set; never raises and never stops watching (a failure is logged, reported
    through the store, and retried)."""
    if mode == "off":  # the folder is not watched, but an admin change made on a sibling worker is followed
        if state_dir is None:
            return
        folders, mode, resync_seconds = [Path(state_dir)], "watch", float("inf")
    else:
        folders = [Path(folder), *([Path(state_dir)] if state_dir is not None else []), *store.key_dirs]
    archive = (Path(state_dir) / ARCHIVE).resolve() if state_dir is not None else None
    source = (Path(state_dir) / SOURCE).resolve() if state_dir is not None else None
    while not stop.is_set():
        try:
            await _watch_once(store, folders, archive, source, mode, poll_interval, stop, debounce_ms, resync_seconds)
        except Exception as exc:
            log.exception("bundle folder watcher failed; retrying in %g s", RETRY_SECONDS)
            store.watch_status(False, f"watcher failed: {exc}; retrying every {RETRY_SECONDS:g} s")
            await _pause(stop, RETRY_SECONDS)
