"""Does the core decide exactly as another copy of it? One line per request and routing, to diff (issue 15).

    PYTHONPATH=<old>/src .venv/bin/python -m bench.equivalence --out <old>.txt
    PYTHONPATH=src       .venv/bin/python -m bench.equivalence --out <new>.txt
    cmp <old>.txt <new>.txt   # or: diff, then --show N on both sides for one request

A speed change to the core must not change a single outcome. This writes, for every request of the
corpus of bench/core_bench.py and for mutated copies of them (values of other types, far or malformed
dates, every ISO 8601 shape the contract takes and many it does not, over-long strings and lists,
deleted keys), under three routings (the real bundles by dossier type with the clock off; replay with
pinned versions; the clock checked against a fixed server time) and under every youth-care bundle
directly: the envelope, the facts in order, the verdict, the rendered answer and the explanation, or
the error's class, path and wording. Each line holds a digest of all that and a short readable part
(decision or error path), so two runs (string hashing fixed, as set order shows in the facts' order) are compared with ``cmp``/``diff`` and a difference is shown in
full with ``--show``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.core_bench import corpus
from poortwachter.artifacts.folder import load_folder
from poortwachter.core.answer import explanation, verdict_context
from poortwachter.core.catalog import Catalog
from poortwachter.core.decide import derive_facts, prepare
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.evaluate import evaluate, explain
from poortwachter.core.request import parse_envelope
from poortwachter.core.routing import Routing

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # a DST change night: the server's clock in the skew routing

JUNK: list[Any] = [None, True, False, 0, -1, 7, 12, 2**70, 1.5, float("nan"), "", "x", "none", "self", "ouder",
                   "read", "jgz", "professional", "dossier", "research", "\x00", "é", "x" * 1025, [], ["p-1"],
                   [1], [None], {}, {"id": 1}, "2026-02-30", "1899-12-31", "2201-01-01", "2026-13-01"]


def _times(rng: random.Random) -> str:
    """A date or date-time in one of many shapes, valid and not, near the edges that matter."""
    year = rng.choice((1899, 1900, 1901, 1969, 1970, 2000, 2016, 2024, 2025, 2026, 2027, 2037, 2038, 2199, 2200,
                       2201, rng.randrange(1900, 2201)))
    month, dd = rng.choice(((3, rng.randrange(24, 32)), (10, rng.randrange(24, 32)), (2, rng.choice((28, 29, 30))),
                            (1, 1), (12, 31), (rng.randrange(0, 14), rng.randrange(0, 33))))
    hh, mm, ss = rng.choice((0, 1, 2, 3, 22, 23, 24, rng.randrange(25))), rng.choice((0, 59, 60, 30)), \
        rng.choice((0, 59, 60, 61, 30))
    frac = rng.choice(("", "", ".5", "." + "1" * rng.randrange(1, 11), ",5", ".", ".123456789", ".0000001"))
    off = rng.choice(("", "Z", "z", "+01:00", "+02:00", "-05:00", "+00:00", "-00:00", "+14:00", "-14:00", "+24:00",
                      "+01:30", "+0100", "+01", "+01:00:00", "+01:00:30.5", "+25:00", "+01:60", "UTC", " "))
    date_part = rng.choice((f"{year:04d}-{month:02d}-{dd:02d}", f"{year:04d}{month:02d}{dd:02d}",
                            f"{year:04d}-W{rng.randrange(0, 54):02d}-{rng.randrange(0, 8)}", f"{year}-{month}-{dd}",
                            f"{year:04d}-{month:02d}-{dd:02d}"))
    sep = rng.choice(("T", "T", "T", "t", " ", "_", ""))
    time_part = rng.choice((f"{hh:02d}:{mm:02d}:{ss:02d}{frac}", f"{hh:02d}:{mm:02d}", f"{hh:02d}",
                            f"{hh:02d}{mm:02d}{ss:02d}", f"{hh:02d}:{mm:02d}:{ss:02d}{frac}"))
    shape = rng.random()
    if shape < 0.15:
        text = date_part
    elif shape < 0.2:
        text = date_part + sep + time_part
    else:
        text = date_part + "T" + time_part + off
    if rng.random() < 0.03:
        text = text.replace("2", "\uff12")  # a full-width digit: isdigit() but not ASCII
    if rng.random() < 0.03:
        text = rng.choice((" ", "\n", "\x00")) + text if rng.random() < 0.5 else text + rng.choice((" ", "\n"))
    return text


def _positions(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _positions(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix + (i,)
            yield from _positions(v, prefix + (i,))


DATE_KEYS = {"time", "birthdate", "given_at", "withdrawn_at", "date_of_death", "last_change", "treatment_end",
             "created_at", "written_at"}


def mutate(request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy with one to three changes: a value replaced (junk, a time of any shape), a key deleted or
    added, a list grown past its limit."""
    out = copy.deepcopy(request)
    for _ in range(rng.choice((1, 1, 2, 3))):
        where = list(_positions(out))
        if not where:
            break
        path = rng.choice(where)
        parent = out
        for p in path[:-1]:
            parent = parent[p]
        key = path[-1]
        roll = rng.random()
        if key in DATE_KEYS or roll < 0.25:
            value: Any = _times(rng)
        elif roll < 0.4 and isinstance(parent, dict):
            del parent[key]
            continue
        elif roll < 0.45 and isinstance(parent, dict):
            parent[rng.choice(("withdrawn_at", "date_of_death", "last_change", "treatment_end", "written_at",
                               "created_at", "deceased", "wilsonbekwaam", "about", "bundle", "team", "for"))] = \
                rng.choice((_times(rng), rng.choice(JUNK)))
            continue
        elif roll < 0.48 and isinstance(parent[key], list) and parent[key]:
            value = parent[key] * (2000 // len(parent[key]) + 1)
        elif roll < 0.52 and isinstance(parent[key], str):
            value = parent[key] + rng.choice(("x", " ", "\x00", "é"))
        else:
            value = rng.choice(JUNK)
        parent[key] = value
    return out


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}|{getattr(exc, 'path', '')}|{getattr(exc, 'cause', '')}|{exc}"


def _outcome(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - comparing failures is the point
        return "error:" + _error(exc)


def _decided(bundle: CompiledBundle, envelope: Any, facts: dict[str, Any]) -> str:
    verdict = evaluate(bundle, facts)
    answer = {"decision": verdict.decision, "context": verdict_context(verdict)}
    return repr((envelope, list(facts.items()), verdict, answer, explanation(explain(bundle, facts))))


def _youth_care_bundles() -> list[CompiledBundle]:
    found = []
    for folder in sorted((ROOT / "policies").iterdir()):
        if (folder / "bundle.yaml").is_file():
            bundle, _, _ = load_folder(folder)
            if bundle.vocabulary.youth_care:
                found.append(compile_bundle(bundle, "equivalence"))
    return found


def lines(n: int, mutants: int, seed: int) -> Iterator[str]:
    bundles = _youth_care_bundles()
    catalog = Catalog.of(bundles)
    routings = {"routed": Routing(max_clock_skew=None), "replay": Routing.replay(),
                "skew": Routing(max_clock_skew=timedelta(days=400))}
    rng = random.Random(seed)
    requests = corpus(n, seed)
    requests += [mutate(r, rng) for r in requests for _ in range(mutants)]
    for i, req in enumerate(requests):
        for name, routing in routings.items():
            def routed(routing: Routing = routing) -> str:
                p = prepare(catalog, copy.deepcopy(req), NOW, routing)
                return p.bundle.bundle.key + "|" + _decided(p.bundle, p.envelope, p.facts)
            yield _line(i, name, _outcome(routed))
        envelope = _outcome(lambda: repr(parse_envelope(req, NOW)))
        if envelope.startswith("error:"):
            continue
        env = parse_envelope(req, NOW)
        for b in bundles:
            yield _line(i, b.bundle.key, _outcome(lambda b=b: _decided(b, env, derive_facts(b, env))))


def _line(i: int, name: str, outcome: str) -> str:
    short = "|".join(outcome.split("|", 2)[:2]) if outcome.startswith("error:") else outcome.split("|", 1)[0][:60]
    return f"{i}\t{name}\t{hashlib.sha256(outcome.encode()).hexdigest()[:20]}\t{short}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=3000, help="corpus requests (each also mutated --mutants times)")
    ap.add_argument("--mutants", type=int, default=4)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--show", type=int, default=None, help="print request N and its outcomes in full")
    args = ap.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0":  # a set of strings iterates in hash order: fix it for both sides
        os.execve(sys.executable, [sys.executable, "-m", "bench.equivalence", *sys.argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    if args.show is not None:
        rng = random.Random(args.seed)
        requests = corpus(args.n, args.seed)
        requests += [mutate(r, rng) for r in requests for _ in range(args.mutants)]
        req = requests[args.show]
        print(json.dumps(req, default=str, ensure_ascii=False))
        catalog = Catalog.of(_youth_care_bundles())
        for routing in (Routing(max_clock_skew=None), Routing.replay()):
            print(_outcome(lambda: repr(prepare(catalog, req, NOW, routing).facts)))
        return 0
    errors: set[str] = set()
    count = 0
    with args.out.open("w") as out:
        for line in lines(args.n, args.mutants, args.seed):
            out.write(line + "\n")
            count += 1
            if "error:" in line:
                errors.add(line.split("\t")[3])
    print(f"{count} outcomes; {len(errors)} distinct error paths", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
