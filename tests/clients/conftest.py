"""Fixtures of the client tests: the real service over the embedded nl-jgz and nl-jeugdhulp bundles.

In process (an app behind Starlette's TestClient for the sync client, httpx's ASGITransport for the
async one) for most tests, a real ``poortwachter serve`` on a free port for the rest. Every fixture
lives in its own temp folder and port, so the tests run in parallel (xdist).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import support
from fastapi import FastAPI

from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
JAVA = ROOT / "clients" / "java"
GUIDES = ROOT / "docs" / "clients"
GUIDE_URL = "http://127.0.0.1:8181"  # the guides' server; the tests put their own in its place
ARTIFACTS = ("nl-jgz-2026.1.0.bundle.json", "nl-jeugdhulp-2026.1.0.bundle.json")
ADMIN_TOKEN = "admin-token-for-client-tests-0123"
ROUTES = "jgz=nl-jgz,jeugdhulp=nl-jeugdhulp"

#: docs/examples/ouder-leest-groeicurve.json: a parent with gezag reads the growth chart of a 7-year-old
ALLOW: dict[str, Any] = json.loads((ROOT / "docs" / "examples" / "ouder-leest-groeicurve.json").read_text())


def need_tool(name: str) -> str:
    """The path of a JDK tool (support.require_tool: a skip with the reason, a failure under CI)."""
    return support.require_tool(name, why="build and run the Java client", install="apt-get install -y openjdk-17-jdk-headless")


def examples(text: str, language: str) -> list[tuple[str, str]]:
    """(code, expected output) for each ```language block of a guide followed by a ```text block."""
    return re.findall(rf"```{language}\n(.*?)```\s*\n```text\n(.*?)```", text, re.DOTALL)


def request(**changes: Any) -> dict[str, Any]:
    """The allow example with whole entities replaced (``subject=…``, ``action=…``, ``context=…``)."""
    body = copy.deepcopy(ALLOW)
    body.update(changes)
    return body


#: the same item asked by someone without any relation to the client: denied, with reasons
DENY = request(subject={"type": "person", "id": "p-999", "properties": {"relation": "derde"}})


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle folder with the embedded nl-jgz and nl-jeugdhulp artifacts (read only: reload is off)."""
    folder = tmp_path_factory.mktemp("bundles")
    for name in ARTIFACTS:
        shutil.copy(ROOT / "bundles" / name, folder / name)
    return folder


def make_app(bundles: Path, **overrides: Any) -> FastAPI:
    values: dict[str, Any] = {"bundles": bundles, "reload": "off", "decision_log": "off", "max_clock_skew": 0,
                              "trust_dev_key": True,  # a copy of the embedded (DEV-signed) artifacts
                              "admin_token": ADMIN_TOKEN, **overrides}
    return create_app(Settings(**values), decision_log=DecisionLog(MemoryOutput()))


@pytest.fixture(scope="module")
def app(bundles: Path) -> Iterator[FastAPI]:
    yield make_app(bundles)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, bundles: Path) -> Iterator[support.Server]:
    """A real ``poortwachter serve`` (one worker, decision log in a folder) on a free port, for every module."""
    with support.serve(tmp_path_factory.mktemp("serve"), bundles,
                       env={"POORTWACHTER_DOSSIER_TYPE_BUNDLES": ROUTES}) as running:
        yield running


class Stub:
    """A TCP server on a free loopback port that answers every connection with ``reply`` (None: never answers)."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(5)
            try:
                conn.recv(65536)
            except OSError:
                pass
            if self.reply is None:
                self.held.append(conn)  # keep it open, say nothing
                continue
            conn.sendall(self.reply)
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def stub() -> Iterator[type[Stub]]:
    made: list[Stub] = []

    class Made(Stub):
        def __init__(self, reply: bytes | None) -> None:
            super().__init__(reply)
            made.append(self)

    yield Made
    for s in made:
        s.close()


@dataclass(frozen=True)
class JavaBuild:
    """The Java client, its check program and the guide's example, compiled together once."""

    classes: Path
    guide_class: str
    guide_output: str


@pytest.fixture(scope="session")
def java_build(tmp_path_factory: pytest.TempPathFactory, server: support.Server) -> JavaBuild:
    """One ``javac --release 17`` (warnings are errors) over clients/java and the example of
    docs/clients/java.md, pointed at the test server."""
    javac = need_tool("javac")
    out = tmp_path_factory.mktemp("java")
    pairs = examples((GUIDES / "java.md").read_text(encoding="utf-8"), "java")
    assert len(pairs) == 1, "docs/clients/java.md has one example with its output"
    code, expected = pairs[0]
    name = re.search(r"public final class (\w+)", code)
    assert name, "the java example is one public final class"
    guide = out / "guide" / f"{name.group(1)}.java"
    guide.parent.mkdir()
    guide.write_text(code.replace(GUIDE_URL, server.base), encoding="utf-8")
    sources = [*sorted(str(p) for p in (JAVA / "src").rglob("*.java")), str(guide)]
    result = subprocess.run([javac, "-Xlint:all", "-Werror", "--release", "17", "-encoding", "UTF-8",
                             "-d", str(out / "classes"), *sources], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return JavaBuild(out / "classes", name.group(1), expected)
