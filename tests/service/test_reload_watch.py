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


def test_a_slow_filesystem_never_holds_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``reload: poll`` is what a network filesystem gets; a stat there can hang. The poll's look at the files
    runs beside the event loop, so the decisions the loop serves go on meanwhile (before, each tick walked the
    folders on the loop itself)."""
    from poortwachter.service import reload

    bundles = tmp_path / "bundles"
    bundles.mkdir()
    real = reload.fingerprint
    calls = 0

    def slow(*args: object) -> reload.Fingerprint:
        nonlocal calls
        calls += 1
        if calls > 1:
            time.sleep(1.0)  # a hanging stat, as on an unreachable NFS server
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reload, "fingerprint", slow)

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(watch(CountingStore(), bundles, None, "poll", 0.1, stop))  # type: ignore[arg-type]
        longest, last = 0.0, time.monotonic()
        try:
            while calls < 3:
                await asyncio.sleep(0.02)
                now = time.monotonic()
                longest, last = max(longest, now - last), now
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
        return longest

    assert asyncio.run(scenario()) < 0.5
