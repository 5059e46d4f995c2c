"""Hot reload: watch the bundle folder (and the shared state folder) and reload the store on change.

inotify through watchfiles by default; ``reload: poll`` scans instead (network file systems and
Kubernetes ConfigMap mounts, whose atomic symlink swaps some watchers miss). Changes are debounced
so a deploy that writes several artifacts causes one reload. The reload itself runs in a worker
thread, so verifying and compiling never stall the event loop that answers decisions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from anyio import to_thread
from watchfiles import Change, awatch

from .store import ARCHIVE, BundleStore

log = logging.getLogger("poortwachter.reload")


def relevant(archive: Path | None) -> Callable[[Change, str], bool]:
    """Everything but the store's own archive writes and temp files: artifacts, the state files, and
    the ``..data`` symlink swaps of Kubernetes volume mounts."""

    def check(change: Change, path: str) -> bool:
        p = Path(path)
        if archive is not None and p.is_relative_to(archive):
            return False
        return not p.name.startswith(".tmp-")

    return check


async def reload_in_thread(store: BundleStore) -> None:
    report = await to_thread.run_sync(store.reload)
    if report.changed or report.refused:
        log.info("reload: generation %d, changed %s, refused %s, kept %s", report.generation,
                 report.changed, sorted(report.refused), report.kept)


async def watch(store: BundleStore, folder: Path, state_dir: Path | None, mode: str, poll_interval: float,
                stop: asyncio.Event, debounce_ms: int = 400) -> None:
    """Run until ``stop`` is set; never raises (a broken watcher is logged, decisions go on)."""
    if mode == "off":
        return
    try:
        folders = [folder.resolve()] + ([state_dir.resolve()] if state_dir is not None else [])
        archive = (state_dir / ARCHIVE).resolve() if state_dir is not None else None
        async for _ in awatch(*folders, watch_filter=relevant(archive), debounce=debounce_ms, stop_event=stop,
                              force_polling=mode == "poll", poll_delay_ms=int(poll_interval * 1000),
                              recursive=True):
            try:
                await reload_in_thread(store)
            except Exception:
                log.exception("reload failed; the active bundles stay")
    except Exception:
        log.exception("bundle folder watcher stopped; hot reload is off until restart")
