"""Instructions per decision of the core's stages (issue 15): callgrind counts, which load does not move.

    .venv/bin/python -m bench.core_callgrind                 # nl-jgz and nl-jeugdhulp, 1000 requests each
    .venv/bin/python -m bench.core_callgrind --n 3000

On a shared machine wall-clock figures (bench/core_bench.py) measure the neighbours as much as the
code; instruction counts do not. This runs itself under ``valgrind --tool=callgrind`` once: it loads
the real bundles, builds the corpus of bench/core_bench.py, warms every stage up, and then runs each
stage over each bundle's requests between two calls of ``os.getppid`` — callgrind starts a new
profile part before each (``--dump-before=getppid``), so every part holds exactly one stage's loop.
The stages are those of ``bench/core_bench.py``'s full path: ``parse_envelope``, ``select_for``,
``derive_facts`` (the youth-care parse and the facts), ``evaluate``, and the full path (request dict →
rendered answer dict, as core_bench times it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _stages(n: int, seed: int) -> list[tuple[str, str, Callable[[Any], Any], list[Any]]]:
    """(bundle, stage, function, inputs) for every stage of every real bundle, inputs made beforehand."""
    from bench.core_bench import NOW, REAL_BUNDLES, _answer, _load, corpus
    from poortwachter.core.catalog import Catalog
    from poortwachter.core.decide import derive_facts, prepare
    from poortwachter.core.policy.evaluate import evaluate
    from poortwachter.core.request import parse_envelope
    from poortwachter.core.routing import Routing

    real = [b for b in map(_load, REAL_BUNDLES) if b is not None]
    catalog = Catalog.of(real)
    routing = Routing({t: b.bundle.name for b in real for t in b.bundle.dossier_types}, max_clock_skew=None)
    full = _answer(catalog, routing)
    by_bundle: dict[str, list[dict[str, Any]]] = {}
    for req in corpus(3 * n, seed):
        by_bundle.setdefault(prepare(catalog, req, NOW, routing).bundle.bundle.key, []).append(req)
    found = []
    for key, reqs in sorted(by_bundle.items()):
        reqs = reqs[:n]
        envelopes = [parse_envelope(r, NOW) for r in reqs]
        prepared = [prepare(catalog, r, NOW, routing) for r in reqs]
        found += [
            (key, "parse_envelope", lambda r: parse_envelope(r, NOW), reqs),
            (key, "select_for", lambda e: catalog.select_for(e, routing), envelopes),
            (key, "derive_facts", lambda p: derive_facts(p.bundle, p.envelope), prepared),
            (key, "evaluate", lambda p: evaluate(p.bundle, p.facts), prepared),
            (key, "full path", full, reqs),
        ]
    return found


def run_stages(n: int, seed: int) -> None:
    """The program callgrind counts: warm up, then each stage between two markers."""
    stages = _stages(n, seed)
    for key, stage, func, inputs in stages:
        print(f"{key}\t{stage}\t{len(inputs)}")
        for _ in range(2):
            for x in inputs:
                func(x)
    for _, _, func, inputs in stages:
        os.getppid()  # marker: callgrind dumps what came before
        for x in inputs:
            func(x)
    os.getppid()


def _parts(folder: Path) -> list[int]:
    """Instructions of each dumped part, in order (callgrind numbers the files .1, .2, …)."""
    counts = []
    for path in sorted(folder.glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1])):
        line = next(x for x in path.read_text().splitlines() if x.startswith(("summary:", "totals:")))
        counts.append(int(line.split()[1]))
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="requests per bundle")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inside:
        run_stages(args.n, args.seed)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="pw-core-cg-"))
    done = subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=getppid",
                    f"--callgrind-out-file={folder}/callgrind.out", sys.executable, "-m", "bench.core_callgrind",
                    "--inside", "--n", str(args.n), "--seed", str(args.seed)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    parts = _parts(folder)[1:]  # the first part is start-up, loading and warm-up
    print("| bundle | stage | instructions per decision |\n|---|---|---:|")
    for line, count in zip(done.stdout.splitlines(), parts):
        key, stage, n = line.split("\t")
        print(f"| {key} | {stage} | {count / int(n):,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
