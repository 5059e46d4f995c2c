"""Cross-check: floor, Cedar and Cerbos must give identical decisions on the whole corpus.

Run before any timing (issue 8): a benchmark of engines that decide differently compares
nothing. Exits 1 on the first run with any mismatch and prints the first ones; exits 0 with
"N passed, 0 failed" otherwise. The one-pass decisions/s printed on the way are sanity figures,
not measurements (no warm-up, no repetition, client and server share the two cores).

    .venv/bin/python -m bench.crosscheck --n 5000 --seed 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.corpus import fingerprint, generate
from bench.floor import decide as floor_decide
from bench.peers.cerbos_runner import AuthZenClient, CerbosServer

Request = dict[str, Any]
Decider = Callable[[list[Request]], list[bool]]


@dataclass(frozen=True)
class Mismatch:
    """One request on which an engine disagrees with the reference (the floor)."""

    index: int
    engine: str
    expected: bool
    got: bool


def chunks(items: list[Request], size: int) -> Iterator[list[Request]]:
    """Consecutive slices of ``size`` (the last may be shorter)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def batched(decide_batch: Decider, size: int) -> Decider:
    """Turn a batch decider into one that sends the corpus in batches of ``size``."""
    def run(requests: list[Request]) -> list[bool]:
        return [answer for chunk in chunks(requests, size) for answer in decide_batch(chunk)]
    return run


def timed(name: str, decider: Decider, requests: list[Request]) -> list[bool]:
    """Run ``decider`` once over ``requests`` and print a one-pass sanity rate."""
    start = time.perf_counter()
    answers = decider(requests)
    elapsed = time.perf_counter() - start
    if len(answers) != len(requests):
        raise RuntimeError(f"{name}: {len(answers)} answers for {len(requests)} requests")
    print(f"  {name:<28} {len(requests) / elapsed:>12,.0f} decisions/s (one pass, indicative)")
    return answers


def compare(expected: list[bool], results: dict[str, list[bool]]) -> list[Mismatch]:
    """Every (request, engine) where the engine's answer differs from ``expected``."""
    return [
        Mismatch(i, engine, want, answers[i])
        for engine, answers in results.items()
        for i, want in enumerate(expected)
        if answers[i] != want
    ]


def describe(request: Request) -> str:
    """The facts the reference rules read, on one line, to make a mismatch readable."""
    props = request["subject"]["properties"]
    res = request["resource"]["properties"]
    facts = {
        "subject": request["subject"]["id"], "relation": props["relation"], "gezag": props["gezag"],
        "treatment_relation": props["treatment_relation"], "consent": props["consent_of_client"],
        "action": request["action"]["name"], "category": res["category"], "age": res["client_age"],
        "confidential": res["confidential_from_parents"], "author": res["author"]["id"],
        "shielded_from": res["shielded_from"],
    }
    return json.dumps(facts, ensure_ascii=False)


def cedar_deciders(batch_size: int) -> dict[str, Decider]:
    """Cedar per request, in batches, and over pre-parsed entities (all must agree)."""
    from bench.peers.cedar_runner import CedarPeer  # cedarpy is optional: only imported when Cedar runs

    peer = CedarPeer()

    def prepared(requests: list[Request]) -> list[bool]:
        """Parse all entities once, then time only the evaluation (cedarpy's lower bound)."""
        cedar_requests, entities = peer.prepare(requests)
        handle = peer.parse_entities(entities)
        start = time.perf_counter()
        answers = peer.decide_prepared(cedar_requests, handle)
        rate = len(requests) / (time.perf_counter() - start)
        print(f"  {'cedar pre-parsed, eval only':<28} {rate:>12,.0f} decisions/s (entities pre-parsed)")
        return answers

    return {
        "cedar is_authorized": peer.decide_each,
        f"cedar batch of {batch_size}": batched(peer.decide_batch, batch_size),
        "cedar one batch, parsed once": prepared,
    }


def rule_coverage(requests: list[Request], expected: list[bool]) -> dict[str, int]:
    """Per Cedar rule: how many corpus decisions change when that rule is left out.

    A rule that changes nothing is not exercised by the corpus, or (like h under these readings)
    is implied by the others; either way the cross-check could not catch an engine getting it wrong.
    """
    import re

    import cedarpy

    from bench.peers.cedar_runner import POLICY_FILE, CedarPeer

    peer = CedarPeer()
    cedar_requests, entities = peer.prepare(requests)
    handle = peer.parse_entities(entities)
    blocks = re.split(r"(?=@id\()", POLICY_FILE.read_text(encoding="utf-8"))
    changed: dict[str, int] = {}
    for i, block in enumerate(blocks):
        if not block.startswith("@id("):
            continue
        without = cedarpy.PolicySet.from_str("".join(blocks[:i] + blocks[i + 1:]))
        answers = [r.allowed for r in cedarpy.is_authorized_batch(cedar_requests, without, handle)]
        changed[block.split('"')[1]] = sum(a != b for a, b in zip(answers, expected))
    return changed


def count_audit_decisions(cerbos: CerbosServer) -> int:
    """Decision entries in Cerbos' audit log (read after stop, when it has been flushed)."""
    with cerbos.audit_path.open(encoding="utf-8") as log:
        return sum(1 for line in log if '"log.kind":"decision"' in line)


def run_cerbos(requests: list[Request], batch_size: int) -> dict[str, list[bool]]:
    """Start Cerbos, ask every request singly and in AuthZEN batches, stop, check the audit count."""
    results: dict[str, list[bool]] = {}
    cerbos = CerbosServer()
    with cerbos:
        client = AuthZenClient(cerbos.base_url)
        results["cerbos /evaluation"] = timed("cerbos /evaluation", lambda rs: [client.evaluate(r) for r in rs],
                                              requests)
        name = f"cerbos /evaluations of {batch_size}"
        results[name] = timed(name, batched(client.evaluations, batch_size), requests)
        client.close()
    logged = count_audit_decisions(cerbos)
    print(f"  cerbos audit: {logged} decision entries for {2 * len(requests)} decisions")
    cerbos.remove_workdir()
    return results


def summarize(requests: list[Request], expected: list[bool]) -> None:
    """Allow share per relation and action, to show the corpus exercises every rule."""
    allowed: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    for request, answer in zip(requests, expected):
        key = (request["subject"]["properties"]["relation"], request["action"]["name"])
        total[key] += 1
        allowed[key] += answer
    cells = ", ".join(f"{rel}/{act} {allowed[(rel, act)]}/{n}" for (rel, act), n in sorted(total.items()))
    print(f"  allowed per relation/action: {cells}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line: corpus size and seed, batch size, which peers to run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="corpus size (default 5000)")
    parser.add_argument("--seed", type=int, default=8, help="corpus seed (default 8)")
    parser.add_argument("--batch-size", type=int, default=50, help="items per batch call (default 50)")
    parser.add_argument("--no-cerbos", action="store_true", help="skip Cerbos (no npm/server)")
    parser.add_argument("--no-cedar", action="store_true", help="skip Cedar")
    parser.add_argument("--show", type=int, default=10, help="mismatches to print (default 10)")
    parser.add_argument("--coverage", action="store_true",
                        help="also report, per rule, how many decisions change without it (Cedar)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Decide the corpus with every engine, print the first mismatches, exit 1 on any."""
    args = parse_args(argv)
    requests = generate(args.n, args.seed)
    print(f"corpus: {len(requests)} requests, seed {args.seed}, fingerprint {fingerprint(requests)}")
    expected = timed("floor (plain Python)", lambda rs: [floor_decide(r) for r in rs], requests)
    summarize(requests, expected)
    if args.coverage:
        cells = ", ".join(f"{rule} {n}" for rule, n in rule_coverage(requests, expected).items())
        print(f"  decisions changed by leaving a rule out: {cells}")
    results: dict[str, list[bool]] = {}
    if not args.no_cedar:
        for name, decider in cedar_deciders(args.batch_size).items():
            results[name] = timed(name, decider, requests)
    if not args.no_cerbos:
        results.update(run_cerbos(requests, args.batch_size))
    mismatches = compare(expected, results)
    for mismatch in mismatches[:args.show]:
        print(f"MISMATCH #{mismatch.index} {mismatch.engine}: floor {mismatch.expected}, got {mismatch.got}: "
              f"{describe(requests[mismatch.index])}")
    checks = len(requests) * len(results)
    print(f"crosscheck: {checks - len(mismatches)} passed, {len(mismatches)} failed")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
