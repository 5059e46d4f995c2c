"""``poortwachter reference``: write (or --check) the Markdown rule reference of bundle folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import FAILED, OK, Usage, load, write

HELP = "write (or --check) the Markdown rule reference of bundle folders"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("folders", nargs="*", type=Path, help="default: every folder under --policies")
    cp.add_argument("-o", "--out", type=Path, help="the file (one folder); default <out-dir>/<folder>.md")
    cp.add_argument("--out-dir", type=Path, default=Path("docs/reference"))
    cp.add_argument("--policies", type=Path, default=Path("policies"))
    cp.add_argument("--check", action="store_true", help="exit 1 when a reference is missing or out of date")


def run(args: argparse.Namespace) -> int:
    from ..authoring.reference import render_reference

    folders = args.folders or sorted(p for p in args.policies.iterdir() if (p / "bundle.yaml").is_file())
    if args.out is not None and len(folders) != 1:
        raise Usage("-o names one file: give exactly one bundle folder")
    stale = []
    for folder in folders:
        bundle = load(folder)
        target = args.out or args.out_dir / f"{folder.name}.md"
        text = render_reference(bundle, f"poortwachter reference {folder.resolve().parent.name}/{folder.name}")
        if args.check:
            current = target.read_text(encoding="utf-8") if target.is_file() else None
            if current != text:
                stale.append(target)
                print(f"{target}: {'missing' if current is None else 'out of date'} for {bundle.key} "
                      f"(run: poortwachter reference {folder})", file=sys.stderr)
        else:
            write(text, target)
    if args.check:
        if not stale:
            print(f"{len(folders)} rule references are current")
        return FAILED if stale else OK
    return OK
