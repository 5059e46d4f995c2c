"""Fixtures of the client tests: the real service over the embedded nl-jgz and nl-jeugdhulp bundles.

In process (an app behind Starlette's TestClient for the sync client, httpx's ASGITransport for the
async one) for most tests, a real ``poortwachter serve`` on a free port for the rest. Every fixture
lives in its own temp folder and port, so the tests run in parallel (xdist).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ("nl-jgz-2026.1.0.bundle.json", "nl-jeugdhulp-2026.1.0.bundle.json")
ADMIN_TOKEN = "admin-token-for-client-tests-0123"
ROUTES = "jgz=nl-jgz,jeugdhulp=nl-jeugdhulp"

#: docs/examples/ouder-leest-groeicurve.json: a parent with gezag reads the growth chart of a 7-year-old
ALLOW: dict[str, Any] = json.loads((ROOT / "docs" / "examples" / "ouder-leest-groeicurve.json").read_text())


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
                              "admin_token": ADMIN_TOKEN, **overrides}
    return create_app(Settings(**values), decision_log=DecisionLog(MemoryOutput()))


@pytest.fixture(scope="module")
def app(bundles: Path) -> Iterator[FastAPI]:
    yield make_app(bundles)
