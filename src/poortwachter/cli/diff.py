"""``poortwachter diff``: every combination whose verdict, obligations or deciding rules change."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from .common import FAILED, OK, Usage, no_cycle_collection, resolve, sources, write

HELP = ("what changes between two versions, in words: a summary by cause, --full for every exact region "
        "(exit 0 none, 1 changes, 2 invalid input)")


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("old", help="a bundle folder, an artifact file or name@version")
    cp.add_argument("new")
    cp.add_argument("--format", choices=("text", "md", "json"), default="text")
    cp.add_argument("-o", "--out", type=Path)
    cp.add_argument("--html", type=Path, help="also write the decision matrix of the diff")
    size = cp.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true",
                      help="text and md: also every exact region (megabytes for a real bundle); json is always full")
    size.add_argument("--brief", action="store_true",
                      help="the summary: the default, kept for scripts that pass it")
    sources(cp)


def run(args: argparse.Namespace) -> int:
    from ..authoring import diff_render as d
    from ..authoring.diff import Diff
    from ..authoring.programs import TooLarge

    old, new = resolve(args.old, args), resolve(args.new, args)
    try:
        with no_cycle_collection():
            diff = Diff(old, new)
    except TooLarge as exc:
        raise Usage(str(exc)) from None
    if args.format == "json":
        text = orjson.dumps(d.diff_json(diff), option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = (d.render_markdown(diff, full=args.full) if args.format == "md"
                else d.render_text(diff, full=args.full))
    write(text, args.out)
    if args.html:
        from ..authoring.matrix import render_diff_matrix

        write(render_diff_matrix(old, new, diff), args.html)
    if args.out is not None:
        print(d.summary_line(diff))
    return FAILED if diff.regions else OK
