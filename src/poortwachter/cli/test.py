"""``poortwachter test``: run the scenario suites of bundle folders and report rule coverage."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..artifacts.folder import scenario_files
from ..authoring.scenarios import read_suites, uncovered
from ..authoring.scenarios import run as run_scenarios
from ..core.errors import BundleInvalid
from .common import FAILED, INVALID, OK, load, print_diagnostics, sibling_catalog

HELP = "run the scenario suites of bundle folders and print rule coverage"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("folders", nargs="+", type=Path)
    cp.add_argument("--require-coverage", action="store_true", help="fail when a rule is not exercised")


def run(args: argparse.Namespace) -> int:
    status = OK
    for folder in args.folders:
        try:
            bundle = load(folder)
            catalog = sibling_catalog(folder, bundle)
            scenarios, problems = read_suites(scenario_files(folder))
        except BundleInvalid as exc:
            print_diagnostics(exc.diagnostics)
            return INVALID
        if problems:
            print_diagnostics(problems)
            return INVALID
        outcomes = run_scenarios(catalog, bundle.key, scenarios)
        failed = [o for o in outcomes if not o.passed]
        for o in failed:
            print(f"FAIL {o.scenario.id} ({o.scenario.span}; source {o.scenario.source})")
            for p in o.problems:
                print(f"     {p}")
        missing = uncovered([r.id for r in bundle.rules], bundle.key, outcomes)
        covered = len(bundle.rules) - len(missing)
        pct = 100.0 * covered / len(bundle.rules) if bundle.rules else 100.0
        governs = ", ".join(bundle.dossier_types) or "requests without a dossier type"
        print(f"{folder}: decided by {bundle.key} (governs {governs}) unless a scenario names another bundle")
        print(f"{folder}: {len(outcomes) - len(failed)}/{len(outcomes)} scenarios passed; "
              f"rule coverage {covered}/{len(bundle.rules)} ({pct:.0f}%)")
        for rid in missing:
            print(f"     not exercised: {rid}")
        if failed or (args.require_coverage and missing):
            status = FAILED
    return status
