"""``poortwachter table``: the complete decision table of a bundle (exact, not sampled)."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from .common import OK, Usage, resolve, sources, write

HELP = "the complete decision table of a bundle (exact, not sampled)"


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("bundle", help="a bundle folder, an artifact file or name[@version]")
    cp.add_argument("--format", choices=("md", "csv", "json"), default="md")
    cp.add_argument("--flat", action="store_true", help="disjoint regions with one verdict each (small bundles)")
    cp.add_argument("--max-rows", type=int, default=20_000, help="limit of --flat")
    cp.add_argument("-o", "--out", type=Path)
    sources(cp)


def run(args: argparse.Namespace) -> int:
    from ..authoring import table as t
    from ..authoring import table_render as r
    from ..authoring.programs import TooLarge

    bundle = resolve(args.bundle, args)
    if args.flat:
        try:
            flat = t.FlatTable(bundle, max_leaves=args.max_rows)
        except TooLarge as exc:
            raise Usage(f"{exc}; raise --max-rows or use the row table") from None
        write(r.flat_markdown(flat), args.out)
        return OK
    table = t.Table(bundle)
    if args.format == "json":
        write(orjson.dumps(r.table_json(table), option=orjson.OPT_INDENT_2).decode() + "\n", args.out)
    else:
        write(r.render_csv(table) if args.format == "csv" else r.render_markdown(table), args.out)
    return OK
