"""Helpers shared by the suites: optional tools (skip here, fail under CI), a free port, a bounded wait,
a real ``poortwachter serve``.

Import it as ``support`` (tests/ is on sys.path because tests/conftest.py sits there). How to write a
test that runs in parallel (pytest-xdist) and how optional tools are handled: docs/testing.md.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import httpx
import pytest

from poortwachter.logbook import query as q

LOG_KEY = "support-test-pseudonym-key-0123456789abcdef"
ADMIN_TOKEN = "admin-token-for-tests-0123456789"


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
"""Under CI (CI=true, as .ci/run runs) every optional tool is installed, so a missing one is a failure."""

VENV_BIN = Path(sys.executable).parent  # console scripts of the environment running the tests


def unavailable(what: str, *, why: str, install: str) -> NoReturn:
    """The one rule for optional tools and peers: a skip with its reason on a developer machine, a failure
    under CI=true (CI installs them; a skip there would hide a check that never ran)."""
    reason = f"{what} is not available, so this test cannot {why} (install: {install})"
    if IN_CI:
        pytest.fail(f"{reason}; under CI=true every optional tool must be there (.ci/run installs it)", pytrace=False)
    pytest.skip(reason)


def require_tool(*names: str, why: str, install: str) -> str:
    """The path of the first of ``names`` on PATH (or in the test environment's bin/), else
    :func:`unavailable`. Call it inside the test or fixture that needs the tool."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path=str(VENV_BIN))
        if found:
            return found
    unavailable(" or ".join(names), why=why, install=install)


def require_module(name: str, *, why: str, install: str) -> ModuleType:
    """The imported module ``name`` (an optional Python package), else :func:`unavailable`."""
    try:
        return importlib.import_module(name)
    except ImportError:
        unavailable(f"the Python package {name}", why=why, install=install)


def require(available: bool, what: str, *, why: str, install: str) -> None:
    """:func:`unavailable` unless ``available``: for peers that are not one executable (a PostgreSQL
    server that answers, a Cerbos binary in the bench cache)."""
    if not available:
        unavailable(what, why=why, install=install)


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds passed; exceptions count as false."""
    end = time.monotonic() + timeout
    while True:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - a server going down or coming up answers with errors
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(interval)


TLS = ssl.create_default_context()
"""One TLS context for every one-off httpx call (``verify=TLS``): ``httpx.get``/``post`` otherwise build a new
one per call, loading the system CA file each time (~40 ms CPU a call, most of a polling loop's cost)."""


def status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET url, or None when nothing answers."""
    try:
        return httpx.get(url, timeout=timeout, verify=TLS).status_code
    except httpx.HTTPError:
        return None


def await_ready(proc: subprocess.Popen[Any], url: str, errors: Path, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 200 while ``proc`` runs; AssertionError with its stderr otherwise."""
    wait_until(lambda: proc.poll() is not None or status(url, timeout=1) == 200, timeout)
    if proc.poll() is not None or status(url, timeout=1) != 200:
        raise AssertionError(f"serve did not become ready at {url}: {errors.read_text()}")


def logged_ids(folder: Path) -> set[str]:
    """Every decision id recorded in a decision-log folder (torn last lines are skipped)."""
    if not folder.exists():
        return set()
    return {r["decision_id"] for r in q.read_records(folder, on_problem=lambda _: None)}


@dataclass
class Server:
    """A running ``poortwachter serve`` in its own process group."""

    proc: subprocess.Popen[bytes]
    base: str
    port: int
    log_dir: Path
    output: Path
    env: dict[str, str] = field(default_factory=dict)

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor; with 1 worker: the server itself)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            return []
        workers = [p for p in pids if "multiprocessing.resource_tracker" not in _cmdline(p)]
        return workers or [self.proc.pid]

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def kill_all(self) -> None:
        """SIGKILL to the whole process group: supervisor and every worker at once."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@contextmanager
def serve(tmp_path: Path, bundles: Path, *, workers: int = 1, env: dict[str, str] | None = None,
          log_dir: Path | None = None, ready: bool = True, timeout: float = 60.0) -> Iterator[Server]:
    """``poortwachter serve`` on a free loopback port with a decision-log folder (fsync), admin token,
    shared state folder and reload off unless ``env`` says otherwise. Waits for /readyz (``ready``) or
    /healthz. SIGKILLs whatever is left of the process group on exit."""
    port = free_port()
    log_dir = log_dir or tmp_path / "log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POORTWACHTER_", "PROMETHEUS_"))}
    full = {**clean,
            "POORTWACHTER_DECISION_LOG": str(log_dir),
            "POORTWACHTER_DECISION_LOG_KEY": LOG_KEY,
            "POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=svc-jgz", "POORTWACHTER_MAX_CLOCK_SKEW": "0",
            "POORTWACHTER_RELOAD": "off",
            "POORTWACHTER_LOG_LEVEL": "warning",
            "POORTWACHTER_ADMIN_TOKEN": ADMIN_TOKEN,
            "POORTWACHTER_STATE_DIR": str(tmp_path / "state"),
            "POORTWACHTER_TRUST_DEV_KEY": "true",  # the fixtures are signed with the DEV key
            **(env or {})}
    output = tmp_path / f"server-{port}.log"
    out = output.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "poortwachter.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--bundles", str(bundles), "--workers", str(workers)],
                            env=full, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(proc, f"http://127.0.0.1:{port}", port, log_dir, output, full)
    try:
        probe = "/readyz" if ready else "/healthz"
        if not wait_until(lambda: proc.poll() is not None or status(server.base + probe) == 200, timeout):
            raise AssertionError(f"server not {'ready' if ready else 'up'} in {timeout} s:\n{server.text()}")
        if proc.poll() is not None:
            raise AssertionError(f"server exited early ({proc.returncode}):\n{server.text()}")
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        out.close()


def post(base: str, path: str, body: Any, *, token: str | None = None, timeout: float = 10.0) -> httpx.Response:
    """One POST on a fresh connection (so the kernel spreads calls over the workers)."""
    headers = {"Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(base + path, json=body, headers=headers, timeout=timeout, verify=TLS)
