"""How long the exact analysis takes: the full decision table and the diff of the largest bundle.

    .venv/bin/python bench/analysis_bench.py [--repeat 5] [--policies policies]

Picks the bundle folder with the most rules (after merging overlays), then times, best of
``--repeat`` runs each (the machine may be shared): loading, the decision table, the diff against
its older version (another folder with the same bundle name, if there is one; otherwise against
itself with one rule removed), lint and the matrix page. Also times every diff of two versions
and of every overlay against its base. Aim (issue 7): table + diff of the largest bundle < 2 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from poortwachter.artifacts.folder import load_folder
from poortwachter.authoring.diff import Diff
from poortwachter.authoring.lint import lint
from poortwachter.authoring.matrix import render_matrix
from poortwachter.authoring.table import Table
from poortwachter.core.policy.model import Bundle


def best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--policies", type=Path, default=Path("policies"))
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    bundles: dict[str, Bundle] = {}
    for folder in sorted(args.policies.iterdir()):
        if (folder / "bundle.yaml").is_file():
            try:
                bundles[folder.name] = load_folder(folder)[0]
            except Exception as exc:  # noqa: BLE001
                print(f"skip {folder}: {exc}", file=sys.stderr)
    if not bundles:
        print("no bundles", file=sys.stderr)
        return 2
    name = max(bundles, key=lambda n: (len(bundles[n].rules), n))
    big = bundles[name]
    older = [b for n, b in bundles.items() if b.name == big.name and b.version != big.version]
    if older:
        old = max(older, key=lambda b: b.effective_from)
    else:
        old = dataclasses.replace(big, version="0.0.0", rules=big.rules[1:])
    print(f"python {platform.python_version()} on {platform.machine()}, best of {args.repeat}")
    t_load, _ = best(args.repeat, lambda: load_folder(args.policies / name))
    t_table, table = best(args.repeat, lambda: Table(big))
    t_diff, diff = best(args.repeat, lambda: Diff(old, big))
    t_lint, findings = best(max(1, args.repeat // 2), lambda: lint(big))
    t_matrix, html = best(max(1, args.repeat // 2), lambda: render_matrix(big, table))
    print(f"largest bundle: {big.key} ({name}, {len(big.rules)} rules, {len(table.space.dims)} facts)")
    print(f"  load + validate        {t_load * 1000:8.1f} ms")
    print(f"  decision table         {t_table * 1000:8.1f} ms  ({len(table.rows)} rows, {len(table.cells)} cells)")
    print(f"  diff {old.key} → {big.version}  {t_diff * 1000:8.1f} ms  ({len(diff.regions)} regions, "
          f"{len(diff.leaves)} before merging)")
    print(f"  table + diff           {(t_table + t_diff) * 1000:8.1f} ms  (aim < 2000 ms)")
    print(f"  lint                   {t_lint * 1000:8.1f} ms  ({len(findings)} findings)")
    print(f"  matrix page            {t_matrix * 1000:8.1f} ms  ({len(html) // 1024} KiB)")
    print("other diffs:")
    pairs = []
    for b in bundles.values():
        if b.extends:
            base = next((x for x in bundles.values() if x.name == b.extends and x.version == b.base_version), None)
            if base is not None:
                pairs.append((base, b))
    by_name: dict[str, list[Bundle]] = {}
    for b in bundles.values():
        by_name.setdefault(b.name, []).append(b)
    for versions in by_name.values():
        versions.sort(key=lambda b: b.effective_from)
        pairs.extend(itertools.pairwise(versions))
    for a, b in pairs:
        t, d = best(max(1, args.repeat // 2), lambda a=a, b=b: Diff(a, b))
        print(f"  {a.key} → {b.key}: {t * 1000:8.1f} ms ({len(d.regions)} regions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
