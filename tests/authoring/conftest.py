from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.core.policy.model import Bundle

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "policies"
POLICIES = ROOT / "policies"


@cache
def bundle_at(folder: str) -> Bundle:
    """A bundle folder (relative to the repository root), validated; cached across tests."""
    return load_folder(ROOT / folder)[0]


def real(folder: str) -> Bundle:
    """A law bundle of policies/. One that is missing or does not load fails the test: a broken bundle
    must not pass as a skip."""
    if not (ROOT / folder / "bundle.yaml").is_file():
        pytest.fail(f"{folder}/bundle.yaml is not in the checkout")
    try:
        return bundle_at(folder)
    except Exception as exc:  # noqa: BLE001 - shown as the test's failure, with the reason
        pytest.fail(f"{folder} does not load: {type(exc).__name__}: {exc}")


@pytest.fixture(scope="session")
def mini() -> Bundle:
    return bundle_at("tests/fixtures/policies/mini")


@pytest.fixture(scope="session")
def overlay() -> Bundle:
    return bundle_at("tests/fixtures/policies/mini-overlay")


@pytest.fixture(scope="session")
def authzen() -> Bundle:
    return bundle_at("policies/authzen-certification")
