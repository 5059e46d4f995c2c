"""``poortwachter lint``: gaps, overlaps, dead and untested rules, sources, thresholds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from ..artifacts.folder import scenario_files
from ..authoring.scenarios import read_suites, uncovered
from ..authoring.scenarios import run as run_scenarios
from ..core.policy.model import Bundle
from .common import FAILED, OK, Usage, print_diagnostics, resolve, sibling_catalog, sources

HELP = "gaps, overlaps, dead rules, untested rules, sources, thresholds (exit 1 on errors)"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("bundles_to_lint", nargs="+", metavar="bundle")
    cp.add_argument("--severity", action="append", default=[], metavar="CODE=LEVEL",
                    help="override a check's severity (error, warning, info, off)")
    cp.add_argument("--fail-on", choices=("error", "warning"), default="error")
    cp.add_argument("--texts", "--seeds", dest="seeds", type=Path, default=None, metavar="DIR",
                    help="a folder of the cited documents' plain texts (<id>.txt, or any name with the sha256 "
                    "docs/sources.md lists); without it citations are checked against the registry only")
    cp.add_argument("--format", choices=("text", "json"), default="text")
    cp.add_argument("-v", "--verbose", action="store_true", help="also print info findings")
    sources(cp)


def _coverage(folder: Path, bundle: Bundle) -> set[str] | None:
    """Rules some scenario of the folder made decide (None: no scenarios to run)."""
    if not folder.is_dir():
        return None
    scenarios, problems = read_suites(scenario_files(folder))
    if problems:
        print_diagnostics(problems)
        raise Usage(f"{folder}: the scenario suites do not validate")
    outcomes = run_scenarios(sibling_catalog(folder, bundle), bundle.key, scenarios)
    return {r.id for r in bundle.rules} - set(uncovered([r.id for r in bundle.rules], bundle.key, outcomes))


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..authoring.lint import config_levels, lint, parse_levels

    status = OK
    for spec in args.bundles_to_lint:
        bundle = resolve(spec, args)
        folder = Path(spec)
        levels: dict[str, str] = {}
        if (folder / "lint.yaml").is_file():
            levels.update(config_levels(yaml.safe_load((folder / "lint.yaml").read_text(encoding="utf-8")),
                                        str(folder / "lint.yaml")))
        levels.update(parse_levels(args.severity))
        if args.seeds is not None and not args.seeds.is_dir():
            raise Usage(f"--texts {args.seeds}: expected a folder of source texts, got no such folder")
        seeds = args.seeds
        findings = lint(bundle, _coverage(folder, bundle), seeds, levels)
        if args.format == "json":
            sys.stdout.write(orjson.dumps({"bundle": bundle.key, "findings": [f.as_json() for f in findings]},
                                          option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            shown = [f for f in findings if args.verbose or f.severity != "info"]
            for f in shown:
                print(f)
            count = {lvl: sum(f.severity == lvl for f in findings) for lvl in ("error", "warning", "info")}
            print(f"{spec}: {bundle.key}: {count['error']} errors, {count['warning']} warnings, {count['info']} info"
                  + ("" if args.verbose or not count["info"] else " (-v shows info)"))
        fail = ("error",) if args.fail_on == "error" else ("error", "warning")
        if any(f.severity in fail for f in findings):
            status = FAILED
    return status
