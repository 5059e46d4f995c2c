"""Every bundle under policies/ validates, passes its scenario suites and exercises every rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundles_once import load, sibling_catalog  # tests/bundles_once.py

from poortwachter.artifacts.folder import scenario_files
from poortwachter.authoring.scenarios import read_suites, run, uncovered

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = sorted(p.parent for p in (ROOT / "policies").glob("*/bundle.yaml"))
# issue 5: scenario minimums for the law bundles
MINIMUM_SCENARIOS = {"nl-jgz": 80, "nl-jeugdhulp": 80, "duo-plus-uithoorn": 15, "duo-plus-diemen": 15,
                     "duo-plus-ouder-amstel": 15}


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_bundle_suite_passes_with_full_rule_coverage(folder: Path) -> None:
    bundle, _, _ = load(folder)
    scenarios, problems = read_suites(scenario_files(folder))
    assert not problems, "\n".join(map(str, problems))
    assert scenarios, f"{folder.name} has no scenarios"
    outcomes = run(sibling_catalog(folder, bundle), bundle.key, scenarios)
    failures = [f"{o.scenario.id} ({o.scenario.span}): {'; '.join(o.problems)}" for o in outcomes if not o.passed]
    assert not failures, "\n".join(failures)
    assert uncovered([r.id for r in bundle.rules], bundle.key, outcomes) == []
    if folder.name in MINIMUM_SCENARIOS:
        assert len(scenarios) >= MINIMUM_SCENARIOS[folder.name]


def test_law_bundles_exist() -> None:
    names = {f.name for f in FOLDERS}
    assert set(MINIMUM_SCENARIOS) <= names
