"""Fixtures of the operations suite (self-contained: it does not lean on other suites' helpers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.core.catalog import Catalog
from poortwachter.core.policy.compile import compile_bundle

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "policies" / "mini"


@pytest.fixture(scope="session")
def mini_bundle_catalog() -> Catalog:
    bundle, _, _ = load_folder(MINI)
    return Catalog.of([compile_bundle(bundle, "test")])


@pytest.fixture(scope="session")
def youth_care() -> Any:
    """A builder of valid youth-care requests (client c-1, a gespreksverslag)."""
    return youth_care_request


def youth_care_request(*, subject: dict[str, Any], action: dict[str, Any], context: dict[str, Any],
                       client: str = "c-1") -> dict[str, Any]:
    return {
        "subject": subject,
        "action": action,
        "resource": {"type": "dossier_item", "id": "d-1/item",
                     "properties": {"dossier_type": "jgz", "category": "gespreksverslag",
                                    "client": {"id": client, "birthdate": "2014-05-30"},
                                    "author": {"id": "prof-7", "kind": "professional"}}},
        "context": {"time": "2026-11-22T10:00:00+01:00", "consents": [], "objections": [], **context},
    }
