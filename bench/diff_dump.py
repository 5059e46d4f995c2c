"""Every rendering of the diffs the tests and the README use, to compare two versions of the code byte for byte.

    PYTHONPATH=src .venv/bin/python bench/diff_dump.py OUT [--repeat 3] [--matrix] [--only TAG ...]

For each pair, writes OUT/TAG.* : the regions and leaf regions (masks and change, in order), the rule
changes, the text and Markdown renderings (summary and ``--full``), the JSON and, with ``--matrix``,
the decision matrix page of the diff (slow: minutes for the duo-plus overlays). Prints the CPU
seconds (``time.process_time``, best of ``--repeat``) of building each pair's ``Diff``: the machine
may be shared, and CPU time is what a change of the analysis changes. A change meant to keep the
diff's result: dump before and after (an old checkout: ``git archive main src | tar -x -C <old>``
and ``PYTHONPATH=<old>/src``) and ``diff -r`` the folders.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]

PAIRS = [
    ("tests/fixtures/policies/mini", "tests/fixtures/policies/mini-overlay"),
    ("tests/fixtures/policies/mini-overlay", "tests/fixtures/policies/mini"),
    ("policies/nl-jgz-2020", "policies/nl-jgz"),  # the README's example
    ("policies/nl-jgz", "policies/nl-jgz-2020"),
    ("policies/nl-jeugdhulp-2019", "policies/nl-jeugdhulp"),
    ("policies/nl-jeugdhulp", "policies/duo-plus-uithoorn"),
    ("policies/nl-jeugdhulp", "policies/duo-plus-diemen"),
    ("policies/nl-jeugdhulp", "policies/duo-plus-ouder-amstel"),
    ("policies/duo-plus-diemen", "policies/nl-jeugdhulp"),
    ("policies/duo-plus-uithoorn", "policies/duo-plus-diemen"),
]
"""The pairs of tests/authoring/test_diff.py, the README's, every overlay against its base and a few
reversed."""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--repeat", type=int, default=1, help="build each diff this many times (best CPU time)")
    p.add_argument("--matrix", action="store_true", help="also the matrix page of each diff (slow)")
    p.add_argument("--only", nargs="*", default=(), help="only these pairs (OLD__NEW, folder names)")
    args = p.parse_args()
    from poortwachter.artifacts.folder import load_folder
    from poortwachter.authoring import diff_render as d
    from poortwachter.authoring.diff import Diff
    from poortwachter.authoring.matrix import render_diff_matrix

    args.out.mkdir(parents=True, exist_ok=True)
    for old, new in PAIRS:
        tag = f"{Path(old).name}__{Path(new).name}"
        if args.only and tag not in args.only:
            continue
        a, b = load_folder(ROOT / old)[0], load_folder(ROOT / new)[0]
        times = []
        for _ in range(max(1, args.repeat)):
            t0 = time.process_time()
            diff = Diff(a, b)
            times.append(time.process_time() - t0)
        files = {
            "regions.txt": "".join(f"{r.masks!r} {r.key!r}\n" for r in diff.regions),
            "leaves.txt": "".join(f"{r.masks!r} {r.key!r}\n" for r in diff.leaves),
            "rule_changes.txt": "".join(f"{c!r}\n" for c in diff.rule_changes),
            "brief.txt": d.render_text(diff),
            "full.txt": d.render_text(diff, full=True),
            "brief.md": d.render_markdown(diff, full=False),
            "full.md": d.render_markdown(diff, full=True),
            "diff.json": orjson.dumps(d.diff_json(diff), option=orjson.OPT_INDENT_2).decode(),
        }
        if args.matrix:
            files["matrix.html"] = render_diff_matrix(a, b, diff)
        for name, text in files.items():
            (args.out / f"{tag}.{name}").write_text(text, encoding="utf-8")
        print(f"{tag}: Diff {min(times):.2f} s CPU (best of {len(times)}: "
              f"{', '.join(f'{t:.2f}' for t in times)}), {len(diff.leaves)} leaves, {len(diff.regions)} regions",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
