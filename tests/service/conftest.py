"""Fixtures of the service tests: signed artifacts built into temp folders, and apps around them.

Artifacts are built once per session with the DEV key (the embedded bundles' key) from
tests/service/fixtures/policies (svc-jgz in two versions, a youth-care fixture) and
policies/authzen-certification (the AuthZEN certification fixture).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from poortwachter.artifacts.artifact import build
from poortwachter.artifacts.folder import load_folder
from poortwachter.artifacts.keys import load_private
from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
DEV_KEY = ROOT / "keys" / "dev-signing.key"
ADMIN_TOKEN = "admin-token-for-tests-0123456789"
CERT = "authzen-certification"

SOURCES = {
    "svc-jgz-2026": FIXTURES / "policies" / "svc-jgz",
    "svc-jgz-2025": FIXTURES / "policies" / "svc-jgz-2025",
    CERT: ROOT / "policies" / "authzen-certification",
    "authzen-spec": FIXTURES / "policies" / "authzen-spec",
}


def stop_server(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (the server drains its decision log), then SIGKILL if it is still there after 30 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def build_artifact(folder: Path, out: Path, revision: str = "test") -> Path:
    bundle, _, content = load_folder(folder)
    return build(bundle, content, load_private(DEV_KEY), "dev-signing", revision, out)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name → path of a signed artifact (built once)."""
    out = tmp_path_factory.mktemp("artifacts")
    return {name: build_artifact(folder, out / name) for name, folder in SOURCES.items()}


@pytest.fixture
def bundle_dir(tmp_path: Path, artifacts: dict[str, Path]) -> Path:
    """A fresh bundle folder holding every test artifact."""
    folder = tmp_path / "bundles"
    folder.mkdir()
    for path in artifacts.values():
        shutil.copy(path, folder / path.name)
    return folder


class Harness:
    """An app over a bundle folder, with a memory decision log and a settable clock."""

    def __init__(self, client: TestClient, sink: MemoryOutput, settings: Settings) -> None:
        self.client = client
        self.sink = sink
        self.settings = settings

    @property
    def svc(self) -> Any:
        return self.client.app.state.service  # type: ignore[attr-defined]

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.client.post(path, json=body, **kw)

    def admin(self, path: str, body: Any = None, token: str = ADMIN_TOKEN) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        if body is None:
            return self.client.post(path, headers=headers)
        return self.client.post(path, json=body, headers=headers)


MakeHarness = Callable[..., Any]


@pytest.fixture
def make_harness(bundle_dir: Path) -> Iterator[MakeHarness]:
    """``with make_harness(**settings) as h:`` — defaults: svc-jgz decides jgz dossiers, the clock
    check off and pinned versions allowed (the requests replay fixed times), reload off, admin token
    set; pass ``clock=`` to fix 'now'."""

    @contextmanager
    def factory(clock: Callable[[], datetime] | None = None, **overrides: Any) -> Iterator[Harness]:
        values: dict[str, Any] = {"bundles": bundle_dir, "dossier_type_bundles": {"jgz": "svc-jgz"},
                                  "max_clock_skew": 0, "allow_pinned_versions": True, "reload": "off",
                                  "admin_token": ADMIN_TOKEN, "decision_log": "off",
                                  "trust_dev_key": True}  # the fixtures are signed with the DEV key
        values.update(overrides)
        settings = Settings(**values)
        sink = MemoryOutput()
        app = create_app(settings, decision_log=DecisionLog(sink), clock=clock)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Harness(client, sink, settings)

    yield factory


@pytest.fixture
def harness(make_harness: MakeHarness) -> Iterator[Harness]:
    with make_harness() as h:
        yield h


@pytest.fixture
def cert(make_harness: MakeHarness) -> Iterator[Harness]:
    """The AuthZEN certification setup: the fixture bundle as default, the fixture inventory."""
    with make_harness(dossier_type_bundles={"none": CERT}, search_inventory=FIXTURES / "authzen-inventory.yaml") as h:
        yield h


def yc_request(*, relation: str = "ouder", gezag: bool = True, subject_id: str = "p-1", subject_type: str = "person",
               action: str = "read", category: str = "gespreksverslag", birthdate: str = "2016-05-30",
               time: str | None = "2026-11-22T10:00:00+01:00", subject_props: dict[str, Any] | None = None,
               resource_props: dict[str, Any] | None = None, context: dict[str, Any] | None = None,
               action_props: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid youth-care request for svc-jgz: by default a parent with gezag reading a gespreksverslag
    of a 10-year-old (allowed)."""
    props: dict[str, Any] = {"relation": relation, "gezag": gezag} if subject_type == "person" else {}
    props.update(subject_props or {})
    ctx: dict[str, Any] = {"purpose": "care"}
    if time is not None:
        ctx["time"] = time
    ctx.update(context or {})
    action_obj: dict[str, Any] = {"name": action}
    if action_props:
        action_obj["properties"] = action_props
    return {
        "subject": {"type": subject_type, "id": subject_id, "properties": props},
        "action": action_obj,
        "resource": {"type": "dossier_item", "id": f"d-1/{category}/1", "properties": {
            "dossier_type": "jgz", "category": category, "client": {"id": "c-1", "birthdate": birthdate},
            "author": {"id": "prof-7", "kind": "professional"}, **(resource_props or {})}},
        "context": ctx,
    }
