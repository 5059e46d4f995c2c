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


DEV_KEY = ROOT / "keys" / "dev-signing.key"
LOG_KEY = "operations-test-pseudonym-key-0123456789"


@pytest.fixture(scope="session")
def mini_bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle folder with the mini fixture as a signed artifact (DEV key)."""
    from poortwachter.artifacts.artifact import build
    from poortwachter.artifacts.keys import load_private

    out = tmp_path_factory.mktemp("bundles")
    bundle, _, content = load_folder(MINI)
    build(bundle, content, load_private(DEV_KEY), "dev-signing", "test", out)
    return out


def parent_request(i: int = 0, *, client: str = "c-1", subject: str = "p-1", birthdate: str = "2016-05-30") -> dict[str, Any]:
    """A parent with gezag reading an item of a child under 12 in the mini bundle: allowed."""
    return {
        "subject": {"type": "person", "id": subject, "properties": {"relation": "ouder", "gezag": True}},
        "action": {"name": "read", "properties": {"processing_activity_id": "pa-inzage"}},
        "resource": {"type": "dossier_item", "id": f"d-1/groei/{i}",
                     "properties": {"dossier_type": "jgz", "category": "groei",
                                    "client": {"id": client, "birthdate": birthdate}}},
        "context": {"time": "2026-11-22T10:00:00+01:00", "purpose": "care",
                    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    }


@pytest.fixture(scope="session")
def parent() -> Any:
    return parent_request
