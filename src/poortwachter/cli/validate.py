"""``poortwachter validate``: do bundle folders validate (schema, vocabulary, overlays)?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import BundleInvalid
from .common import INVALID, OK, load, print_diagnostics

HELP = "validate bundle folders (schema, vocabulary, overlays)"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("folders", nargs="+", type=Path)


def run(args: argparse.Namespace) -> int:
    status = OK
    for folder in args.folders:
        try:
            bundle = load(folder)
        except BundleInvalid as exc:
            print_diagnostics(exc.diagnostics)
            print(f"{folder}: INVALID ({sum(d.severity == 'error' for d in exc.diagnostics)} errors)", file=sys.stderr)
            status = INVALID
            continue
        print(f"{folder}: {bundle.key} valid, {len(bundle.rules)} rules")
    return status
