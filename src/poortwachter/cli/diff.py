"""``poortwachter diff``: every combination whose verdict, obligations or deciding rules change."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from .common import FAILED, OK, Usage, resolve, sources, write

HELP = "every combination whose verdict, obligations or deciding rules change (exit 0 none, 1 changes, 2 invalid input)"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("old", help="a bundle folder, an artifact file or name@version")
    cp.add_argument("new")
    cp.add_argument("--format", choices=("text", "md", "json"), default="text")
    cp.add_argument("-o", "--out", type=Path)
    cp.add_argument("--html", type=Path, help="also write the decision matrix of the diff")
    cp.add_argument("--brief", action="store_true", help="text: the changes in words, without the region list")
    sources(cp)


def run(args: argparse.Namespace) -> int:
    from ..authoring import diff_render as d
    from ..authoring.diff import Diff
    from ..authoring.explore import TooLarge

    old, new = resolve(args.old, args), resolve(args.new, args)
    try:
        diff = Diff(old, new)
    except TooLarge as exc:
        raise Usage(str(exc)) from None
    if args.format == "json":
        text = orjson.dumps(d.diff_json(diff), option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = d.render_markdown(diff) if args.format == "md" else d.render_text(diff, brief=args.brief)
    write(text, args.out)
    if args.html:
        from ..authoring.matrix import render_diff_matrix

        write(render_diff_matrix(old, new, diff), args.html)
    if args.out is not None:
        print(d.summary_line(diff))
    return FAILED if diff.regions else OK
