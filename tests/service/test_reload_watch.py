"""The folder watcher in ``reload: poll`` mode notices every change, also a second one within the same second.

The polling watcher underneath (watchfiles → notify's PollWatcher) compares modification times in whole
seconds: a file replaced twice within one second looked unchanged to a worker that had polled in between,
and that worker kept the old state until the 30 s full reload. Seen in tests/faults: an admin roll-back
written to ``holds.json`` less than a second after the previous change reached one of two workers only,
which answered with the old revision for more than 20 s.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from poortwachter.service.reload import watch
from poortwachter.service.store_model import LoadReport


class CountingStore:
    """What the watcher needs of a BundleStore: reload() (counted), watch_status, key_dirs."""

    def __init__(self) -> None:
        self.reloads = 0
        self.key_dirs: list[Path] = []

    def reload(self) -> LoadReport:
        self.reloads += 1
        return LoadReport(self.reloads)

    def watch_status(self, watching: bool, why: str | None = None) -> None:
        pass


def _replace(path: Path, text: str) -> None:
    """As the store writes its state files: a temporary file renamed over the old one."""
    tmp = path.with_name(".tmp-" + path.name)
    tmp.write_text(text)
    os.replace(tmp, path)


async def _until(check: object, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.parametrize("mode", ["poll", "watch"])
def test_a_second_change_within_the_same_second_is_noticed(tmp_path: Path, mode: str) -> None:
    bundles, state = tmp_path / "bundles", tmp_path / "state"
    bundles.mkdir()
    state.mkdir()
    holds = state / "holds.json"
    _replace(holds, "{}")
    store = CountingStore()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(watch(store, bundles, state, mode, 0.1, stop, debounce_ms=50))  # type: ignore[arg-type]
        try:
            assert await _until(lambda: store.reloads >= 2, 10), "the watch never settled"
            await asyncio.sleep(0.5)
            while time.time() % 1 > 0.3:  # both changes in one wall-clock second
                await asyncio.sleep(0.01)
            settled = store.reloads
            _replace(holds, '{"a": 1}')
            assert await _until(lambda: store.reloads > settled, 2), "the first change was not noticed"
            seen = store.reloads
            assert time.time() % 1 < 0.9, "the machine is too slow for this check (the second ended)"
            _replace(holds, '{"a": 2}')  # the same second, the same size
            assert await _until(lambda: store.reloads > seen, 3), "a second change within the same second was missed"
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
