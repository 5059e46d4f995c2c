"""``poortwachter matrix``: the decision matrix of a bundle (or of a diff) as one HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import OK, resolve, sources, write

HELP = "the decision matrix of a bundle (or of a diff) as one HTML page"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("bundle")
    cp.add_argument("--against", help="an older version: draw the matrix of the diff")
    cp.add_argument("-o", "--out", type=Path, required=True)
    sources(cp)


def run(args: argparse.Namespace) -> int:
    from ..authoring.matrix import render_diff_matrix, render_matrix

    bundle = resolve(args.bundle, args)
    if args.against:
        write(render_diff_matrix(resolve(args.against, args), bundle), args.out)
    else:
        write(render_matrix(bundle), args.out)
    return OK
