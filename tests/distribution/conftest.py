"""Fixtures of the bundle-distribution tests: a real OCI registry, a plain HTTP server, keys and artifacts.

The registry is Debian's ``docker-registry`` (the CNCF distribution registry), started per test on a free
loopback port with its storage in the test's tmp folder. Without the binary the tests skip with the reason,
except under CI=true, where CI installs it (.ci/run) and a missing binary fails.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
import support
from fastapi.testclient import TestClient
from support import free_port, wait_until

from poortwachter.artifacts.artifact import build
from poortwachter.artifacts.folder import load_folder
from poortwachter.artifacts.keys import generate, load_private
from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "service" / "fixtures" / "policies" / "svc-jgz"
DEV_KEY = ROOT / "keys" / "dev-signing.key"
REGISTRY = shutil.which("docker-registry")

DENY_ALL = """
- id: nothing
  effect: deny
  actions: [any]
  reason: {nl: "Niets.", en: "Nothing."}
  basis: ["test"]
  source: ["test:1"]
"""


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT
    storage: Path
    proc: subprocess.Popen[bytes]

    def ref(self, repo: str, tag: str) -> str:
        return f"oci://{self.host}/{repo}:{tag}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _start_registry(folder: Path, port: int, htpasswd: Path | None = None) -> Registry:
    config = folder / "config.yml"
    storage = folder / "storage"
    auth = f"auth:\n  htpasswd:\n    realm: test\n    path: {htpasswd}\n" if htpasswd else ""
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n{auth}")
    assert REGISTRY is not None
    with (folder / "registry.log").open("ab") as log:  # the registry keeps its own copy
        proc = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=log)
    ok = wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code in (200, 401), timeout=20)
    if not ok:
        proc.kill()
        raise AssertionError(f"docker-registry did not start: {(folder / 'registry.log').read_text()}")
    return Registry(f"127.0.0.1:{port}", storage, proc)


def _need_registry() -> None:
    support.require(REGISTRY is not None, "docker-registry", why="publish to and pull from a real OCI registry",
                    install="apt-get install -y docker-registry")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    _need_registry()
    folder = tmp_path / "registry"
    folder.mkdir()
    reg = _start_registry(folder, free_port())
    yield reg
    reg.stop()


ROBOT = ("robot", "robot-secret-0123456789")


@pytest.fixture
def private_registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry that answers only the user ROBOT (HTTP Basic, htpasswd with bcrypt, as Harbor robots do)."""
    _need_registry()
    folder = tmp_path / "private-registry"
    folder.mkdir()
    (folder / "htpasswd").write_text(f"{ROBOT[0]}:{bcrypt.hashpw(ROBOT[1].encode(), bcrypt.gensalt()).decode()}\n")
    reg = _start_registry(folder, free_port(), folder / "htpasswd")
    yield reg
    reg.stop()


@pytest.fixture
def restart_registry(tmp_path: Path) -> Callable[[Registry], Registry]:
    """Start a stopped registry again on its port, with its storage."""

    def again(old: Registry) -> Registry:
        return _start_registry(tmp_path / "registry", int(old.host.rpartition(":")[2]))

    return again


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server (python http.server in a thread) over a folder: (base URL, folder)."""
    folder = tmp_path / "web"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass(frozen=True)
class Keys:
    folder: Path  # public keys: what the service trusts
    private: Path
    key_id: str


@pytest.fixture(scope="session")
def prod_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A production key pair made for the tests (the service trusts its public half only)."""
    root = tmp_path_factory.mktemp("prod-keys")
    public = root / "public"
    public.mkdir()
    generate(root / "prod-2026.key", public / "prod-2026.pub")
    return Keys(public, root / "prod-2026.key", "prod-2026")


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A key nobody trusts, with the same id as the production key (a wrongly signed artifact)."""
    root = tmp_path_factory.mktemp("other-keys")
    generate(root / "prod-2026.key", root / "prod-2026.pub")
    return Keys(root, root / "prod-2026.key", "prod-2026")


def artifact(tmp: Path, version: str, key: Path, key_id: str, *, rules: str | None = None) -> Path:
    """The svc-jgz fixture as ``version`` (optionally other rules), signed with ``key``."""
    folder = tmp / f"src-{version}-{key_id}-{abs(hash((rules, str(key)))) % 100_000}"
    if not folder.exists():
        shutil.copytree(FIXTURE, folder)
        manifest = (folder / "bundle.yaml").read_text().replace("version: 2026.1.0", f"version: {version}")
        (folder / "bundle.yaml").write_text(manifest)
        if rules is not None:
            (folder / "rules" / "rules.yaml").write_text(rules)
    bundle, _, content = load_folder(folder)
    return build(bundle, content, load_private(key), key_id, "test", folder / "out")


class App:
    """A service (TestClient, lifespan running: the poller polls) over a bundle source."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def decide(self) -> tuple[bool, str]:
        r = self.client.post("/access/v1/evaluation", json=yc_request())
        assert r.status_code == 200, r.text
        body = r.json()
        return body["decision"], body["context"]["bundle"]["revision"]

    def source(self) -> dict[str, Any]:
        return dict(self.client.get("/readyz").json()["bundles"]["source"])

    def bundle(self) -> dict[str, Any]:
        return dict(self.client.get("/v1/bundles/svc-jgz").json())

    def ready(self) -> bool:
        return self.client.get("/readyz").status_code == 200


def yc_request() -> dict[str, Any]:
    return {"subject": {"type": "person", "id": "p-1", "properties": {"relation": "ouder", "gezag": True}},
            "action": {"name": "read"},
            "resource": {"type": "dossier_item", "id": "d-1", "properties": {
                "dossier_type": "jgz", "category": "gespreksverslag",
                "client": {"id": "c-1", "birthdate": "2016-05-30", "gezaghebbenden": ["p-1"]}}},
            "context": {"time": "2026-11-22T10:00:00+01:00"}}


@pytest.fixture
def serve_source(tmp_path: Path) -> Callable[..., Any]:
    """``with serve_source(source, keys=[...], **settings) as app:`` — state in tmp_path/state, polls every 0.1 s."""

    @contextmanager
    def factory(source: str, **overrides: Any) -> Iterator[App]:
        values: dict[str, Any] = {"bundle_source": source, "state_dir": tmp_path / "state",
                                  "dossier_type_bundles": {"jgz": "svc-jgz"}, "max_clock_skew": 0, "reload": "off",
                                  "bundle_source_poll_interval": 0.1, "bundle_source_timeout": 2,
                                  "bundle_source_max_backoff": 0.3, "decision_log": "off"}
        values.update(overrides)
        app = create_app(Settings(**values), decision_log=DecisionLog(MemoryOutput()))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield App(client)

    return factory
