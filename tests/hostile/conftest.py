"""The hostile-input suite's app, invariant and inputs.

The app is the real ASGI app over the law bundles built from policies/ (signed with the DEV key, so
they always match the current schema), with a real decision-log folder (the writer thread must
survive whatever the inputs do) and a clock that follows each request's ``context.time`` (so a
clock-skew bound cannot refuse the scenario suites' fixed dates).

The invariant (:func:`check`): every answer is a 4xx RFC 9457 problem that names a field, or a 200
whose decisions are denies, or allows the unmutated request of the same meaning also got. Never a
5xx, never an internal evaluation error dressed as a deny, never slower than the limit.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient
from service.conftest import ADMIN_TOKEN, ROOT, build_artifact
from support import logged_ids

from poortwachter.authoring.scenarios import Scenario, read_suites
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.service.app import create_app
from poortwachter.service.decision_log import open_decision_log
from poortwachter.service.settings import Settings

POLICIES = ROOT / "policies"
LAW = ("nl-jgz", "nl-jgz-2020", "nl-jeugdhulp", "nl-jeugdhulp-2019", "duo-plus-diemen", "duo-plus-ouder-amstel",
       "duo-plus-uithoorn")
#: the longest any single hostile request may take (CI machines are slow and shared)
LIMIT = float(os.environ.get("POORTWACHTER_HOSTILE_LIMIT", "5"))
#: more examples for a nightly run: POORTWACHTER_FUZZ_EXAMPLES=2000
EXAMPLES = int(os.environ.get("POORTWACHTER_FUZZ_EXAMPLES", "0"))
FAST_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LOG_KEY = "hostile-suite-pseudonym-key-0123456789abcdef"

#: inputs tried per test, printed at the end of the run
TRIED: dict[str, int] = {}


def count(name: str, n: int = 1) -> None:
    TRIED[name] = TRIED.get(name, 0) + n


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TRIED:
        terminalreporter.section("hostile inputs tried")
        for name, n in sorted(TRIED.items()):
            terminalreporter.write_line(f"{n:7d}  {name}")
        terminalreporter.write_line(f"{sum(TRIED.values()):7d}  total")


class Clock:
    """'now' for the app: set to each request's context.time before it is sent."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 10, 0, tzinfo=AMSTERDAM)

    def __call__(self) -> datetime:
        return self.now

    def follow(self, body: Any) -> None:
        when = body.get("context", {}).get("time") if isinstance(body, dict) and isinstance(
            body.get("context"), dict) else None
        if isinstance(when, str):
            try:
                parsed = datetime.fromisoformat(when)
            except ValueError:
                return
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=AMSTERDAM)
            if 1900 < parsed.year < 2200:
                self.now = parsed


class Over(Exception):
    """A request ran past the limit."""


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Interrupt the test (main thread, SIGALRM) if the block takes longer than ``seconds``: a hang
    fails the test instead of stalling CI."""

    def expired(signum: int, frame: Any) -> None:
        raise Over(f"{what}: no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def encode(body: Any) -> bytes:
    """JSON bytes; the stdlib encoder for what orjson refuses (nesting deeper than 254)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


@dataclass
class Hostile:
    client: TestClient
    clock: Clock
    log_dir: Path

    def send(self, path: str, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None,
             limit: float = LIMIT, admin: bool = False) -> Any:
        """POST a body (or raw bytes) within ``limit`` seconds; the answer with ``.seconds`` set."""
        self.clock.follow(body)
        hdrs = {"content-type": "application/json", **(headers or {})}
        if admin:
            hdrs["authorization"] = f"Bearer {ADMIN_TOKEN}"
        content = raw if raw is not None else encode(body)
        started = time.monotonic()
        with time_limit(limit + 5, f"POST {path}"):
            response = self.client.post(path, content=content, headers=hdrs)
        response.seconds = time.monotonic() - started  # type: ignore[attr-defined]
        assert response.seconds <= limit, f"POST {path} took {response.seconds:.2f} s (limit {limit} s)"  # type: ignore[attr-defined]
        return response

    def still_answers(self, body: dict[str, Any]) -> None:
        """The writer is alive: a normal request is answered within 2 s and its record is in the log."""
        r = self.send("/access/v1/evaluation", body, limit=2.0)
        assert r.status_code == 200, r.text
        decision_id = r.json()["context"]["decision_id"]
        assert decision_id in logged_ids(self.log_dir), "the answered decision is not in the decision log"


@pytest.fixture(scope="session")
def law_bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The law bundles of policies/, built and signed now (DEV key) into one folder."""
    out = tmp_path_factory.mktemp("law-bundles")
    for name in LAW:
        build_artifact(POLICIES / name, out)
    return out


def make_app(bundles: Path, tmp: Path, *, keep_log_open: bool = False, **overrides: Any) -> tuple[Any, Clock]:
    """The app with a real decision-log folder in ``tmp``. ``keep_log_open``: the log is handed in, so the
    lifespan does not close it (schemathesis runs a lifespan per call)."""
    key = tmp / "log.key"
    key.write_text(LOG_KEY)
    values: dict[str, Any] = {"bundles": bundles, "dossier_type_bundles": {"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp"}, "max_clock_skew": 0,
                              "reload": "off",
                              "admin_token": ADMIN_TOKEN, "decision_log": str(tmp / "log"),
                              "decision_log_key_file": key, "decision_log_durability": "write",
                              "state_dir": tmp / "state", "trust_dev_key": True}
    values.update(overrides)
    clock = Clock()
    settings = Settings(**values)
    log = open_decision_log(settings.decision_log, settings.decision_log_capacity, settings) if keep_log_open else None
    return create_app(settings, clock=clock, decision_log=log), clock


@pytest.fixture(scope="module")
def hostile(law_bundles: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    tmp = tmp_path_factory.mktemp("hostile")
    app, clock = make_app(law_bundles, tmp)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 200, client.get("/readyz").text
        yield Hostile(client, clock, tmp / "log")


# ------------------------------------------------------------------------------------ the invariant


def is_problem(response: Any) -> dict[str, Any]:
    """A 4xx RFC 9457 problem document naming the offending field; its body."""
    assert 400 <= response.status_code < 500, f"expected a 4xx problem, got {response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    doc = response.json()
    assert doc["status"] == response.status_code and doc["type"] and doc["title"] and doc["detail"], doc
    assert doc.get("errors") and all("field" in e for e in doc["errors"]), f"the problem names no field: {doc}"
    return dict(doc)


def _decisions(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    return body["evaluations"] if "evaluations" in body else [body]


def check(response: Any, allowed_if: bool | list[bool] | None) -> str:
    """The invariant for one answer. ``allowed_if``: the decision(s) of the unmutated request of the
    same meaning (an allow is acceptable only where that was an allow); None: no allow is acceptable.
    Returns the outcome kind ('problem', 'deny', 'allow')."""
    assert response.status_code < 500, f"5xx: {response.status_code} {response.text[:500]}"
    if response.status_code != 200:
        is_problem(response)
        return "problem"
    items = _decisions(response)
    kinds = []
    for i, item in enumerate(items):
        assert isinstance(item.get("decision"), bool), item
        error = (item.get("context") or {}).get("error")
        assert not (error and int(error.get("status", 0)) >= 500), f"item {i}: internal error dressed as a deny: {error}"
        if item["decision"]:
            base = allowed_if[i] if isinstance(allowed_if, list) else allowed_if
            assert base, f"item {i}: allowed, but the unmutated request is not: {item}"
            kinds.append("allow")
        else:
            kinds.append("deny")
    return "allow" if "allow" in kinds else "deny"


# ------------------------------------------------------------------------------------ valid requests


@dataclass(frozen=True)
class Baseline:
    """A scenario request the service answers 200 with the decision its suite expects."""

    id: str
    request: dict[str, Any]
    decision: bool


@functools.cache
def suite_requests() -> tuple[tuple[Scenario, str], ...]:
    """(scenario, bundle to name in context.bundle) of every law bundle's suites, error scenarios left out.
    Read with libyaml's loader (the authoring loader keeps line numbers, which this does not need)."""
    found: list[tuple[Scenario, str]] = []
    for name in LAW:
        folder = POLICIES / name
        manifest = yaml.load((folder / "bundle.yaml").read_text(), Loader=FAST_YAML)
        files = [(str(p), yaml.load(p.read_text(), Loader=FAST_YAML)) for p in sorted((folder / "tests").glob("*.yaml"))]
        scenarios, problems = read_suites(files)
        assert not problems, problems
        found += [(s, s.bundle or manifest["name"]) for s in scenarios
                  if "error" not in s.expect and "decision" in s.expect
                  and isinstance((s.request.get("context") or {}).get("time"), str)]
    return tuple(found)


@pytest.fixture(scope="module")
def baselines(hostile: Hostile) -> list[Baseline]:
    """Every suite scenario the service decides as its suite says (sent once, over HTTP)."""
    kept: list[Baseline] = []
    for scenario, bundle in suite_requests():
        request = orjson.loads(orjson.dumps(scenario.request))
        request.setdefault("context", {})["bundle"] = bundle
        r = hostile.send("/access/v1/evaluation", request)
        if r.status_code == 200 and r.json()["decision"] == bool(scenario.expect["decision"]):
            kept.append(Baseline(scenario.id, request, r.json()["decision"]))
    assert len(kept) >= 100, f"only {len(kept)} scenarios answered as their suites say"
    assert any(b.decision for b in kept) and any(not b.decision for b in kept)
    return kept


SendFn = Callable[..., Any]
