"""``poortwachter matrix``: the decision matrix of a bundle (or of a diff) as one HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import OK, resolve, sources, write

HELP = "the decision matrix of a bundle (or of a diff) as one HTML page (-o, default: the current directory)"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("bundle")
    cp.add_argument("--against", help="an older version: draw the matrix of the diff")
    cp.add_argument("-o", "--out", type=Path,
                    help="the HTML file to write; default <name>-<version>.html (with --against "
                    "<name>-<old>-to-<new>.html) in the current directory")
    sources(cp)


def run(args: argparse.Namespace) -> int:
    from ..authoring.matrix import render_diff_matrix, render_matrix

    bundle = resolve(args.bundle, args)
    if args.against:
        old = resolve(args.against, args)
        new = bundle.version if old.name == bundle.name else f"{bundle.name}-{bundle.version}"
        out = args.out or Path(f"{old.name}-{old.version}-to-{new}.html")
        write(render_diff_matrix(old, bundle), out)
    else:
        write(render_matrix(bundle), args.out or Path(f"{bundle.name}-{bundle.version}.html"))
    return OK
