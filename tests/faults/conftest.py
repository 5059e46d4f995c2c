"""Fault tests on real ``poortwachter serve`` processes: a load generator that keeps what it was told,
small file systems to fill or freeze, and the figures every test reports at the end of the run.

POORTWACHTER_FAULTS_LONG=1 runs the long variants (more load, more cycles).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import support
from service.conftest import SOURCES, build_artifact, yc_request

LONG = os.environ.get("POORTWACHTER_FAULTS_LONG", "") not in ("", "0")
FIGURES: dict[str, str] = {}


def figure(test: str, text: str) -> None:
    FIGURES[test] = text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """A figure travels with its test's report (from an xdist worker too); tests/conftest.py prints them."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        report.user_properties.extend(("figure", f"{k}: {FIGURES.pop(k)}") for k in list(FIGURES))


@pytest.fixture
def svc_bundles(tmp_path: Path) -> Path:
    """A bundle folder with svc-jgz 2025 and 2026 (DEV key)."""
    folder = tmp_path / "bundles"
    folder.mkdir()
    for name in ("svc-jgz-2026", "svc-jgz-2025"):
        built = build_artifact(SOURCES[name], tmp_path / "built" / name)
        shutil.copy(built, folder / built.name)
    return folder


@dataclass
class Load:
    """Clients sending single and batch evaluations until stopped; what they were answered."""

    base: str
    clients: int = 8
    acknowledged: set[str] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    mixed_batches: list[set[str]] = field(default_factory=list)  # batches whose items report several revisions
    revisions: set[str] = field(default_factory=set)
    allowed_without_bundle: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def _note(self, status: str) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def _client(self, n: int) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                try:
                    if i % 4 == 0:
                        r = client.post("/access/v1/evaluations",
                                        json={"evaluations": [yc_request(subject_id=f"p-{n}-{i}-{k}") for k in range(5)]})
                        items = r.json()["evaluations"] if r.status_code == 200 else []
                    else:
                        r = client.post("/access/v1/evaluation", json=yc_request(subject_id=f"p-{n}-{i}"))
                        items = [r.json()] if r.status_code == 200 else []
                    self._note(str(r.status_code))
                    revs = {it["context"].get("bundle", {}).get("revision", "-") for it in items}
                    with self.lock:
                        self.acknowledged.update(it["context"]["decision_id"] for it in items)
                        self.revisions |= revs
                        if len(revs) > 1:
                            self.mixed_batches.append(revs)
                        self.allowed_without_bundle += sum(1 for it in items
                                                           if it["decision"] and "bundle" not in it["context"])
                except (httpx.HTTPError, ValueError, KeyError):
                    self._note("error")
                    time.sleep(0.02)

    @contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for t in threads:
            t.start()
        try:
            yield self
        finally:
            self.stop.set()
            for t in threads:
                t.join(20)

    def answered(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def wait_answers(load: Load, at_least: int, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    start = load.answered()
    while load.answered() - start < at_least and time.monotonic() < end:
        time.sleep(0.05)


@contextmanager
def small_fs(where: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (root only); skips with the reason otherwise."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    support.require(done.returncode == 0, f"mounting a tmpfs ({done.stderr.strip()})", why="fill a small disk",
                    install="run as root or with CAP_SYS_ADMIN, as CI does")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True, capture_output=True)
