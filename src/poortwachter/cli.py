"""`poortwachter`: validate, test, explain and build bundles; analyse them; serve decisions.

Exit codes fit CI: 0 ok, 1 a test failed (or a diff found changes), 2 invalid input (a bundle or
request that does not validate, a file that cannot be read).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from . import wire
from .artifacts import embedded
from .artifacts.artifact import ArtifactError, build
from .artifacts.directory import load_directory
from .artifacts.folder import load_folder, scenario_files
from .artifacts.keys import generate, load_keyring, load_private
from .authoring.scenarios import pinned, read_suites, run, uncovered
from .core.calendar import AMSTERDAM
from .core.catalog import Catalog
from .core.decide import prepare
from .core.errors import BundleInvalid, Diagnostic, PoortwachterError, RequestError
from .core.policy.compile import CompiledBundle, compile_bundle
from .core.policy.evaluate import explain
from .core.policy.model import Bundle
from .core.routing import Routing
from .logbook import cli as logbook_cli

OK, FAILED, INVALID = 0, 1, 2
DEV_KEY = Path("keys/dev-signing.key")


class Usage(Exception):
    """A problem with the command line or its inputs: printed, exit 2."""


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        print(str(d), file=sys.stderr if d.severity == "error" else sys.stdout)


def _load(folder: Path) -> Bundle:
    bundle, warnings, _ = load_folder(folder)
    _print_diagnostics(warnings)
    return bundle


def _sibling_catalog(folder: Path, own: Bundle) -> Catalog:
    """The folder's bundle plus every sibling folder that validates (other versions, bases)."""
    bundles = [compile_bundle(own, "source")]
    for sibling in sorted(folder.resolve().parent.iterdir()):
        if sibling.resolve() == folder.resolve() or not (sibling / "bundle.yaml").is_file():
            continue
        try:
            other, _, _ = load_folder(sibling)
        except PoortwachterError:
            continue
        if other.key != own.key:
            bundles.append(compile_bundle(other, "source"))
    return Catalog.of(bundles)


def cmd_validate(args: argparse.Namespace) -> int:
    status = OK
    for folder in args.folders:
        try:
            bundle = _load(folder)
        except BundleInvalid as exc:
            _print_diagnostics(exc.diagnostics)
            print(f"{folder}: INVALID ({sum(d.severity == 'error' for d in exc.diagnostics)} errors)", file=sys.stderr)
            status = INVALID
            continue
        print(f"{folder}: {bundle.key} valid, {len(bundle.rules)} rules")
    return status


def cmd_test(args: argparse.Namespace) -> int:
    status = OK
    for folder in args.folders:
        try:
            bundle = _load(folder)
            catalog = _sibling_catalog(folder, bundle)
            scenarios, problems = read_suites(scenario_files(folder))
        except BundleInvalid as exc:
            _print_diagnostics(exc.diagnostics)
            return INVALID
        if problems:
            _print_diagnostics(problems)
            return INVALID
        outcomes = run(catalog, bundle.key, scenarios)
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


def _read_json(source: str) -> Any:
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Usage(f"{source}: not JSON: {exc}") from None


def _catalog_for(args: argparse.Namespace) -> tuple[Catalog, str | None]:
    """A folder given with --bundle, or the artifacts in --bundles (default: embedded)."""
    if args.bundle and Path(args.bundle).is_dir():
        bundle = _load(Path(args.bundle))
        return _sibling_catalog(Path(args.bundle), bundle), bundle.key
    result = load_directory(args.bundles, load_keyring(args.keys))
    for file, why in result.errors.items():
        print(f"refused {file}: {why}", file=sys.stderr)
    return result.catalog, args.bundle


def _picked(bundle: CompiledBundle, pin: str | None) -> str:
    """Why this bundle decided: named, or routed by the dossier type it governs."""
    b = bundle.bundle
    governs = f"governs {', '.join(b.dossier_types)}" if b.dossier_types else "fixture vocabulary"
    how = f"named by --bundle {pin}" if pin else "routed by dossier type (or named in context.bundle)"
    return f"{b.key}: {how}; {governs}; version in force at context.time unless pinned"


def cmd_explain(args: argparse.Namespace) -> int:
    catalog, pin = _catalog_for(args)
    request = _read_json(args.request)
    if pin is not None:
        request = pinned(request, pin)
    prepared = prepare(catalog, request, datetime.now(AMSTERDAM), Routing.replay())
    explanation = explain(prepared.bundle, prepared.facts)
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(wire.explanation(explanation), option=orjson.OPT_INDENT_2) + b"\n")
        return OK
    v = explanation.verdict
    print(f"{'ALLOW' if v.decision else 'DENY'} by {v.bundle.name}@{v.bundle.version} ({v.bundle.revision[:19]})")
    print(f"  bundle {_picked(prepared.bundle, pin)}")
    for r in v.reasons:
        print(f"  {r.effect} {r.rule}: {r.text.en}\n      basis: {', '.join(r.basis) or '-'}; source: {', '.join(r.source) or '-'}")
    for o in v.obligations:
        print(f"  obligation {o.id}: {o.text.en}")
    for m in v.missing:
        print(f"  missing {m.fact} (rule {m.rule}): {m.text.en}")
    print("facts:")
    for name, value in sorted(explanation.facts.items()):
        print(f"  {name} = {value}")
    print("rules:")
    for t in explanation.rules:
        if t.considered:
            state = "APPLIES" if t.applied else "no: " + "; ".join(t.failed)
            print(f"  {t.effect:5} {t.rule}: {state}")
    return OK


def _git_revision(folder: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git:{rev}{'+dirty' if dirty else ''}"


def cmd_build(args: argparse.Namespace) -> int:
    key = load_private(args.key)
    key_id = args.key_id or args.key.stem
    for folder in args.folders:
        try:
            bundle, warnings, content = load_folder(folder)
        except BundleInvalid as exc:
            _print_diagnostics(exc.diagnostics)
            return INVALID
        _print_diagnostics(warnings)
        path = build(bundle, content, key, key_id, args.revision or _git_revision(folder), args.out)
        print(f"built {path} ({bundle.key}, key {key_id})")
    return OK


def cmd_keygen(args: argparse.Namespace) -> int:
    private, public = args.out.with_suffix(".key"), args.out.with_suffix(".pub")
    if private.exists() and not args.force:
        raise Usage(f"{private} exists; pass --force to overwrite")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    generate(private, public)
    print(f"wrote {private} (keep secret) and {public} (give to the service as a trusted key)")
    return OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .core.policy.schema import rule_file_schema

    sys.stdout.buffer.write(orjson.dumps(rule_file_schema(), option=orjson.OPT_INDENT_2) + b"\n")
    return OK


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def _resolve(spec: str, args: argparse.Namespace) -> Bundle:
    from .artifacts.locate import resolve_bundle

    try:
        bundle, _ = resolve_bundle(spec, args.bundles, args.policies, args.keys)
    except KeyError as exc:
        raise Usage(exc.args[0]) from None
    return bundle


def cmd_table(args: argparse.Namespace) -> int:
    from .authoring import table as t

    bundle = _resolve(args.bundle, args)
    if args.flat:
        try:
            flat = t.FlatTable(bundle, max_leaves=args.max_rows)
        except t.TooLarge as exc:
            raise Usage(f"{exc}; raise --max-rows or use the row table") from None
        _write(t.flat_markdown(flat), args.out)
        return OK
    table = t.Table(bundle)
    if args.format == "json":
        _write(orjson.dumps(t.table_json(table), option=orjson.OPT_INDENT_2).decode() + "\n", args.out)
    else:
        _write(t.render_csv(table) if args.format == "csv" else t.render_markdown(table), args.out)
    return OK


def cmd_diff(args: argparse.Namespace) -> int:
    from .authoring import diff as d
    from .authoring.table import TooLarge

    old, new = _resolve(args.old, args), _resolve(args.new, args)
    try:
        diff = d.Diff(old, new)
    except TooLarge as exc:
        raise Usage(str(exc)) from None
    if args.format == "json":
        text = orjson.dumps(d.diff_json(diff), option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = d.render_markdown(diff) if args.format == "md" else d.render_text(diff, brief=args.brief)
    _write(text, args.out)
    if args.html:
        from .authoring.matrix import render_diff_matrix

        _write(render_diff_matrix(old, new, diff), args.html)
    if args.out is not None:
        print(d.summary_line(diff))
    return FAILED if diff.regions else OK


def _coverage(folder: Path, bundle: Bundle) -> set[str] | None:
    """Rules some scenario of the folder made decide (None: no scenarios to run)."""
    if not folder.is_dir():
        return None
    scenarios, problems = read_suites(scenario_files(folder))
    if problems:
        _print_diagnostics(problems)
        raise Usage(f"{folder}: the scenario suites do not validate")
    outcomes = run(_sibling_catalog(folder, bundle), bundle.key, scenarios)
    return {r.id for r in bundle.rules} - set(uncovered([r.id for r in bundle.rules], bundle.key, outcomes))


def cmd_lint(args: argparse.Namespace) -> int:
    import yaml

    from .authoring.lint import config_levels, lint, parse_levels

    status = OK
    for spec in args.bundles_to_lint:
        bundle = _resolve(spec, args)
        folder = Path(spec)
        levels: dict[str, str] = {}
        if (folder / "lint.yaml").is_file():
            levels.update(config_levels(yaml.safe_load((folder / "lint.yaml").read_text(encoding="utf-8")),
                                        str(folder / "lint.yaml")))
        levels.update(parse_levels(args.severity))
        seeds = args.seeds if args.seeds is not None and args.seeds.is_dir() else None
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


def cmd_matrix(args: argparse.Namespace) -> int:
    from .authoring.matrix import render_diff_matrix, render_matrix

    bundle = _resolve(args.bundle, args)
    if args.against:
        _write(render_diff_matrix(_resolve(args.against, args), bundle), args.out)
    else:
        _write(render_matrix(bundle), args.out)
    return OK


def cmd_reference(args: argparse.Namespace) -> int:
    from .authoring.reference import render_reference

    folders = args.folders or sorted(p for p in args.policies.iterdir() if (p / "bundle.yaml").is_file())
    if args.out is not None and len(folders) != 1:
        raise Usage("-o names one file: give exactly one bundle folder")
    stale = []
    for folder in folders:
        bundle = _load(folder)
        target = args.out or args.out_dir / f"{folder.name}.md"
        text = render_reference(bundle, f"poortwachter reference {folder.resolve().parent.name}/{folder.name}")
        if args.check:
            current = target.read_text(encoding="utf-8") if target.is_file() else None
            if current != text:
                stale.append(target)
                print(f"{target}: {'missing' if current is None else 'out of date'} for {bundle.key} "
                      f"(run: poortwachter reference {folder})", file=sys.stderr)
        else:
            _write(text, target)
    if args.check:
        if not stale:
            print(f"{len(folders)} rule references are current")
        return FAILED if stale else OK
    return OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .service.main import serve

    return serve(args)


def cmd_log(args: argparse.Namespace) -> int:
    return logbook_cli.run(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="poortwachter", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        cp = sub.add_parser(name, help=help, description=help)
        cp.set_defaults(func=func)
        return cp

    cp = command("validate", cmd_validate, "validate bundle folders (schema, vocabulary, overlays)")
    cp.add_argument("folders", nargs="+", type=Path)
    cp = command("test", cmd_test, "run the scenario suites of bundle folders and print rule coverage")
    cp.add_argument("folders", nargs="+", type=Path)
    cp.add_argument("--require-coverage", action="store_true", help="fail when a rule is not exercised")
    cp = command("explain", cmd_explain, "decide one request (file or - for stdin) and show the reasoning")
    cp.add_argument("request")
    cp.add_argument("--bundle", help="a bundle folder, or a bundle name (name@version) among --bundles")
    cp.add_argument("--bundles", type=Path, default=embedded.bundle_dir(), help="artifact folder")
    cp.add_argument("--keys", type=Path, default=embedded.key_dir(), help="folder of trusted *.pub keys")
    cp.add_argument("--format", choices=("text", "json"), default="text")
    cp = command("build", cmd_build, "build signed artifacts of bundle folders")
    cp.add_argument("folders", nargs="+", type=Path)
    cp.add_argument("--out", type=Path, default=Path("bundles"))
    cp.add_argument("--key", type=Path, default=DEV_KEY, help="Ed25519 private key (PEM)")
    cp.add_argument("--key-id", help="key id recorded in the manifest (default: key file stem)")
    cp.add_argument("--revision", help="source revision to record (default: git HEAD of the folder)")
    cp = command("keygen", cmd_keygen, "make an Ed25519 signing key pair")
    cp.add_argument("out", type=Path, help="path without suffix; writes .key and .pub")
    cp.add_argument("--force", action="store_true")
    command("schema", cmd_schema, "print the JSON Schema of rule files (for editors)")
    cp = command("serve", cmd_serve, "run the decision service")
    cp.add_argument("--host")
    cp.add_argument("--port", type=int)
    cp.add_argument("--bundles", type=Path)
    cp.add_argument("--workers", type=int)
    cp.add_argument("--config", type=Path)
    def sources(cp: argparse.ArgumentParser) -> None:
        cp.add_argument("--bundles", type=Path, default=Path("bundles"), help="artifact folder for name@version")
        cp.add_argument("--policies", type=Path, default=Path("policies"), help="bundle folders for name@version")
        cp.add_argument("--keys", type=Path, default=embedded.key_dir(), help="folder of trusted *.pub keys")

    cp = command("table", cmd_table, "the complete decision table of a bundle (exact, not sampled)")
    cp.add_argument("bundle", help="a bundle folder, an artifact file or name[@version]")
    cp.add_argument("--format", choices=("md", "csv", "json"), default="md")
    cp.add_argument("--flat", action="store_true", help="disjoint regions with one verdict each (small bundles)")
    cp.add_argument("--max-rows", type=int, default=20_000, help="limit of --flat")
    cp.add_argument("-o", "--out", type=Path)
    sources(cp)
    cp = command("diff", cmd_diff, "every combination whose verdict, obligations or deciding rules change "
                 "(exit 0 none, 1 changes, 2 invalid input)")
    cp.add_argument("old", help="a bundle folder, an artifact file or name@version")
    cp.add_argument("new")
    cp.add_argument("--format", choices=("text", "md", "json"), default="text")
    cp.add_argument("-o", "--out", type=Path)
    cp.add_argument("--html", type=Path, help="also write the decision matrix of the diff")
    cp.add_argument("--brief", action="store_true", help="text: the changes in words, without the region list")
    sources(cp)
    cp = command("lint", cmd_lint, "gaps, overlaps, dead rules, untested rules, sources, thresholds "
                 "(exit 1 on errors)")
    cp.add_argument("bundles_to_lint", nargs="+", metavar="bundle")
    cp.add_argument("--severity", action="append", default=[], metavar="CODE=LEVEL",
                    help="override a check's severity (error, warning, info, off)")
    cp.add_argument("--fail-on", choices=("error", "warning"), default="error")
    cp.add_argument("--seeds", type=Path, default=Path("../shared/seeds"), help="seed texts sources cite")
    cp.add_argument("--format", choices=("text", "json"), default="text")
    cp.add_argument("-v", "--verbose", action="store_true", help="also print info findings")
    sources(cp)
    cp = command("matrix", cmd_matrix, "the decision matrix of a bundle (or of a diff) as one HTML page")
    cp.add_argument("bundle")
    cp.add_argument("--against", help="an older version: draw the matrix of the diff")
    cp.add_argument("-o", "--out", type=Path, required=True)
    sources(cp)
    cp = command("reference", cmd_reference, "write (or --check) the Markdown rule reference of bundle folders")
    cp.add_argument("folders", nargs="*", type=Path, help="default: every folder under --policies")
    cp.add_argument("-o", "--out", type=Path, help="the file (one folder); default <out-dir>/<folder>.md")
    cp.add_argument("--out-dir", type=Path, default=Path("docs/reference"))
    cp.add_argument("--policies", type=Path, default=Path("policies"))
    cp.add_argument("--check", action="store_true", help="exit 1 when a reference is missing or out of date")
    cp = command("log", cmd_log, "query the decision log (by client, subject, time) or verify its hash chains")
    logbook_cli.add_arguments(cp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (Usage, RequestError, ArtifactError, OSError, ValueError) as exc:
        print(f"poortwachter {args.command}: {exc}", file=sys.stderr)
        return INVALID
    except BundleInvalid as exc:
        _print_diagnostics(exc.diagnostics)
        return INVALID


if __name__ == "__main__":
    sys.exit(main())
