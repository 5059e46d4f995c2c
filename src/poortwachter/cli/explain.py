"""``poortwachter explain``: decide one request and show the reasoning (one evaluation: prepare, then explain)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ..artifacts import embedded
from ..artifacts.directory import load_directory
from ..artifacts.keys import load_keyring
from ..authoring.scenarios import pinned
from ..core import answer
from ..core.calendar import AMSTERDAM
from ..core.catalog import Catalog
from ..core.decide import prepare
from ..core.errors import unknown
from ..core.policy.compile import CompiledBundle
from ..core.policy.evaluate import explain
from ..core.routing import Routing
from .common import OK, Usage, load, sibling_catalog

HELP = "decide one request (file or - for stdin) and show the reasoning"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("request")
    cp.add_argument("--bundle", help="a bundle folder, or a bundle name (name@version) among --bundles")
    cp.add_argument("--bundles", type=Path, default=embedded.bundle_dir(), help="artifact folder")
    cp.add_argument("--keys", type=Path, default=embedded.key_dir(), help="folder of trusted *.pub keys")
    cp.add_argument("--format", choices=("text", "json"), default="text")


def _read_json(source: str) -> Any:
    raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Usage(f"{source}: not JSON: {exc}") from None


def _catalog_for(args: argparse.Namespace) -> tuple[Catalog, str | None]:
    """A folder given with --bundle, or the artifacts in --bundles (default: embedded)."""
    if args.bundle and Path(args.bundle).is_dir():
        bundle = load(Path(args.bundle))
        return sibling_catalog(Path(args.bundle), bundle), bundle.key
    result = load_directory(args.bundles, load_keyring(args.keys))
    for file, why in result.errors.items():
        print(f"refused {file}: {why}", file=sys.stderr)
    if args.bundle:
        name = args.bundle.partition("@")[0]
        if name not in result.catalog.versions:
            raise Usage(unknown("bundle", name, result.catalog.names(), f" in {args.bundles}/")
                        + " (--bundle also takes a bundle folder)")
    return result.catalog, args.bundle


def _picked(bundle: CompiledBundle, pin: str | None) -> str:
    """Why this bundle decided: named, or routed by the dossier type it governs."""
    b = bundle.bundle
    governs = f"governs {', '.join(b.dossier_types)}" if b.dossier_types else "fixture vocabulary"
    how = f"named by --bundle {pin}" if pin else "routed by dossier type (or named in context.bundle)"
    return f"{b.key}: {how}; {governs}; version in force at context.time unless pinned"


def run(args: argparse.Namespace) -> int:
    catalog, pin = _catalog_for(args)
    request = _read_json(args.request)
    if pin is not None:
        request = pinned(request, pin)
    prepared = prepare(catalog, request, datetime.now(AMSTERDAM), Routing.replay())
    explanation = explain(prepared.bundle, prepared.facts)
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(answer.explanation(explanation), option=orjson.OPT_INDENT_2) + b"\n")
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
