"""Shared test helpers: fixture bundle paths, a compiled-bundle loader and a request builder.

Keep this minimal; suites add their own fixtures in their folder's conftest.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.core.catalog import Catalog
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POLICY_FIXTURES = FIXTURES / "policies"


def compiled(folder: Path) -> CompiledBundle:
    bundle, _, _ = load_folder(folder)
    return compile_bundle(bundle, "test")


@pytest.fixture(scope="session")
def policy_fixtures() -> Path:
    return POLICY_FIXTURES


@pytest.fixture(scope="session")
def mini() -> CompiledBundle:
    """tests/fixtures/policies/mini, compiled."""
    return compiled(POLICY_FIXTURES / "mini")


@pytest.fixture(scope="session")
def mini_catalog(mini: CompiledBundle) -> Catalog:
    return Catalog.of([mini])


def make_request(
    *,
    subject_type: str = "person",
    subject_id: str = "p-1",
    subject_props: dict[str, Any] | None = None,
    action: str = "read",
    action_props: dict[str, Any] | None = None,
    resource_type: str = "dossier_item",
    category: str | None = "gespreksverslag",
    birthdate: str = "2014-05-30",
    client: dict[str, Any] | None = None,
    resource_props: dict[str, Any] | None = None,
    time: str | None = "2026-11-22T10:00:00+01:00",
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid youth-care AuthZEN request (a parent with gezag reading a gespreksverslag of c-1).

    Every keyword replaces one part; ``*_props``/``client``/``context`` are merged over the defaults.
    """
    props: dict[str, Any] = {
        "dossier_type": "jgz",
        "client": {"id": "c-1", "birthdate": birthdate, **(client or {})},
        "author": {"id": "prof-7", "kind": "professional"},
        "shielded_from": [],
        "confidential_from_parents": False,
    }
    if category is not None:
        props["category"] = category
    props.update(resource_props or {})
    default_subject = {"relation": "ouder", "gezag": True} if subject_type == "person" else {}
    ctx: dict[str, Any] = {"purpose": "care", "consents": [], "objections": [], "attestations": []}
    if time is not None:
        ctx["time"] = time
    ctx.update(context or {})
    request: dict[str, Any] = {
        "subject": {"type": subject_type, "id": subject_id,
                    "properties": {**default_subject, **(subject_props or {})}},
        "action": {"name": action, **({"properties": action_props} if action_props else {})},
        "resource": {"type": resource_type, "id": "d-1/item", "properties": props},
        "context": ctx,
    }
    return copy.deepcopy(request)


@pytest.fixture(scope="session")
def request_for() -> Callable[..., dict[str, Any]]:
    """The :func:`make_request` builder, as a fixture (test folders have no package to import from)."""
    return make_request


FIGURES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Figures a test reports (``("figure", text)`` in its user_properties), gathered in the process that
    prints the summary: the only one under xdist."""
    FIGURES.extend(str(value) for key, value in report.user_properties if key == "figure")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("figures")
        for line in sorted(FIGURES):
            terminalreporter.write_line(line)
