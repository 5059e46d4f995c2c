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


LONGEST_FIRST = (
    # the two diff pairs whose diff takes 5–6 s (CPU) to build, then 300 examples: their groups first, one on each worker
    "tests/authoring/test_diff.py::test_diff_equals_evaluating_both_on_random_facts[policies/nl-jeugdhulp-policies/duo-plus",
    "tests/authoring/test_diff.py::",
    "tests/service/test_workers.py::test_workers_never_split_across_versions",
    "tests/test_quality.py::test_mypy_strict_is_clean",
    "tests/faults/test_faults.py::test_admin_changes_under_load",
    "tests/operations/test_reliability.py::",
    "tests/test_coverage.py::test_the_core_tests_cover_the_core",
    "tests/service/test_workers.py::test_rollback_reaches_every_worker",
    "tests/clients/test_java_client.py::",
    "tests/authoring/test_lint.py::test_law_scenarios_cite_registered_documents",
    "tests/faults/test_faults.py::",
    "tests/service/test_shadow.py::test_two_workers",
    "tests/logbook_central/test_outages.py::",
)
"""Node-id prefixes of the tests that take longest (``--durations=30`` of a whole run, issue 14), longest
first. Update it from a fresh ``--durations`` when the tail of the suite changes."""


def _rank(item: pytest.Item) -> int:
    return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest tests first: ``--dist loadgroup`` hands tests out in collection order (after grouped tests,
    which xdist's loadscope reorder puts in front anyway), so a long test collected last would run alone at
    the end while the other worker idles. A stable sort keeps the order within a rank and keeps every worker's
    collection identical, as xdist requires."""
    items.sort(key=_rank)
