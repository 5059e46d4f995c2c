"""In-process benchmark of the policy core (issues 3, 15): decisions/s and p50/p99 latency per decision.

    .venv/bin/python bench/core_bench.py                       # the real bundles: policies/nl-jgz, nl-jeugdhulp
    .venv/bin/python bench/core_bench.py --bundle policies/nl-jgz --n 20000
    .venv/bin/python bench/core_bench.py --profile             # + cProfile of the full path

A script, not a timed test. What it measures, on one fixed, seeded corpus of requests in the
contract's youth-care vocabulary (every value drawn from the closed sets of core/vocabulary.py):

- **full path** (per real bundle): what the service does for one decoded request body short of its
  cache, log and metrics — ``core.decide.prepare`` (parse the AuthZEN envelope, route by dossier type
  to the bundle and its version in force at ``context.time``, parse the youth-care vocabulary, derive
  the facts), ``evaluate``, and the rendered answer dict ``{"decision", "context": {decision_id,
  bundle, reasons, obligations, missing}}`` (``core.answer.verdict_context``), from the decoded JSON
  dict of a request. Each request is decided by the bundle its dossier type routes to, and the rows
  are per bundle. The clock check is off (the corpus spans 2024-2027; it is one comparison);
- **evaluate only**: ``evaluate`` on facts derived beforehand;
- **the floor**: a hand-written Python function that decides the same requests under the rules of
  the mini fixture (tests/fixtures/policies/mini) straight from the request dicts, doing the same
  necessary work (ISO time parsing, the Amsterdam date, the age, consent validity). It is the
  cheapest honest way to decide those rules in Python, so it bounds what an engine can cost. The
  engine runs the mini bundle as well (parse + facts + evaluate, no routing), so the ratio compares
  like with like, and every decision of the floor is cross-checked against the engine's (a mismatch
  exits 1).

Throughput is a tight loop over the corpus (the best of --repeats passes); latencies are per call
(``perf_counter_ns`` around each decision; p50/p99 per pass, the median over the passes; the timer's
own cost is printed). The load average is printed too: on a busy machine p99 measures the scheduler;
the CPU column (thread CPU time per decision, best pass) is what a decision costs regardless of load.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("poortwachter") is None:  # outside the venv; a compiled copy on PYTHONPATH wins
    sys.path.insert(0, str(ROOT / "src"))

from poortwachter.artifacts.folder import load_folder
from poortwachter.core import vocabulary as v
from poortwachter.core.answer import verdict_context
from poortwachter.core.catalog import Catalog
from poortwachter.core.decide import derive_facts, prepare
from poortwachter.core.errors import PoortwachterError, RequestError
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.evaluate import evaluate
from poortwachter.core.request import parse_envelope
from poortwachter.core.routing import Routing

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MINI = ROOT / "tests" / "fixtures" / "policies" / "mini"
REAL_BUNDLES = (ROOT / "policies" / "nl-jgz", ROOT / "policies" / "nl-jeugdhulp")
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # only used when a request has no context.time (never here)
GOAL_P99_US, GOAL_P50_US = 30.0, 15.0
Request = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# the corpus

_PERSON_RELATIONS = (("self", 25), ("ouder", 30), ("voogd", 8), ("pleegouder", 6), ("jeugdbeschermer", 3),
                     ("partner_van_ouder", 3), ("biologische_ouder", 3), ("nabestaande", 2),
                     ("vertegenwoordiger", 2), ("derde", 3))
_ACTIONS = (("read", 45), ("copy", 15), ("write", 15), ("correct", 4), ("annotate", 3), ("disclose", 12),
            ("destroy", 3), ("read_log", 3))
_ZONES = (AMSTERDAM, AMSTERDAM, AMSTERDAM, UTC, timezone(timedelta(hours=-5)))


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _ids(i: int) -> dict[str, str]:
    return {"client": f"c-{i}", "p1": f"p-{i}-1", "p2": f"p-{i}-2", "prof": f"prof-{i}", "org": f"org-{i}"}


def _moment(rng: random.Random) -> datetime:
    """2024-2027, a fifth of them within an hour of midnight (where the UTC and Amsterdam dates differ)."""
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(4 * 365))
    minute = rng.choice((rng.randrange(0, 60), rng.randrange(23 * 60, 24 * 60))) if rng.random() < 0.2 \
        else rng.randrange(7 * 60, 22 * 60)
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, rng.randrange(60), tzinfo=AMSTERDAM)
    return local.astimezone(rng.choice(_ZONES))


def _birthdate(rng: random.Random, today: date) -> date:
    """Ages 0-23, clustered on the law's thresholds; some exactly on, or a day off, the birthday."""
    age = rng.choice((*range(24), 3, 4, 11, 12, 12, 15, 16, 16, 17, 18))
    try:
        anniversary = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        anniversary = date(today.year - age, 2, 29 if (today.year - age) % 4 == 0 else 28)
    shift = rng.choice((0, 0, 1, -1)) if rng.random() < 0.25 else -rng.randrange(365)
    return min(anniversary + timedelta(days=shift), today - timedelta(days=1))


def _party(rng: random.Random, kind: str, ids: dict[str, str], relation: str | None = None) -> dict[str, Any]:
    if kind == "person":
        relation = relation or _weighted(rng, _PERSON_RELATIONS)
        pid = ids["client"] if relation == "self" else rng.choice((ids["p1"], ids["p2"]))
        props: dict[str, Any] = {"relation": relation,
                                 "gezag": (relation in ("ouder", "voogd") and rng.random() < 0.8)
                                 or (relation == "pleegouder" and rng.random() < 0.2)}
        if rng.random() < 0.5:
            props["identity_verified"] = rng.random() < 0.7
        return {"type": "person", "id": pid, "properties": props}
    if kind == "professional":
        props = {"discipline": rng.choice(v.DISCIPLINES), "treatment_relation": rng.random() < 0.7}
        if rng.random() < 0.6:
            props["team"] = rng.choice((*v.TEAMS, "jgz-regio-noord"))
        return {"type": "professional", "id": ids["prof"], "properties": props}
    props = {"kind": rng.choice(v.ORGANISATION_KINDS)}
    if rng.random() < 0.3:
        props["in_care"] = rng.random() < 0.5
    return {"type": "organisation", "id": ids["org"], "properties": props}


def _permission(rng: random.Random, moment: datetime, ids: dict[str, str], acting: dict[str, Any],
                category: str | None, withdrawable: bool) -> dict[str, Any]:
    roles = [acting["id"], acting["type"], *(str(x) for k, x in acting["properties"].items()
                                             if k in ("relation", "discipline", "kind"))]
    given = moment - timedelta(days=rng.randrange(-10, 400), seconds=rng.randrange(86_400))
    item = {"by": rng.choice((ids["client"], ids["client"], ids["p1"], ids["p2"])),
            "for": rng.choice(roles) if rng.random() < 0.8 else rng.choice(v.RELATIONS),
            "scope": rng.choice(("dossier", "dossier", "research", category or "dossier", rng.choice(v.CATEGORIES))),
            "given_at": given.isoformat()}
    if withdrawable and rng.random() < 0.2:
        item["withdrawn_at"] = (moment + timedelta(days=rng.randrange(-30, 30))).isoformat()
    return item


def make_request(rng: random.Random, i: int) -> Request:
    ids = _ids(i)
    moment = _moment(rng)
    today = moment.astimezone(AMSTERDAM).date()
    action = _weighted(rng, _ACTIONS)
    subject = _party(rng, rng.choices(("person", "professional", "organisation"), weights=(55, 40, 5))[0], ids)
    action_data: dict[str, Any] = {"name": action}
    acting = subject
    if action == "disclose":
        recipient = _party(rng, rng.choices(("organisation", "professional", "person"), weights=(70, 20, 10))[0],
                           ids)
        acting = recipient
        props: dict[str, Any] = {"recipient": recipient}
        if rng.random() < 0.2:
            props["transfer"] = {"reason": rng.choice(v.TRANSFER_REASONS), "new_school_known": rng.random() < 0.5}
        action_data["properties"] = props
    elif rng.random() < 0.1:
        action_data["properties"] = {"setting": rng.choice(v.SETTINGS)}
    whole = rng.random() < 0.1
    category = None if whole else rng.choice(v.CATEGORIES)
    client: dict[str, Any] = {"id": ids["client"], "birthdate": _birthdate(rng, today).isoformat()}
    if rng.random() < 0.7:
        client["gezaghebbenden"] = rng.sample((ids["p1"], ids["p2"]), rng.choice((1, 2, 2)))
    if rng.random() < 0.1:
        client["measures"] = rng.sample(v.MEASURES, rng.randrange(1, 3))
    if rng.random() < 0.02:
        client["date_of_death"] = (today - timedelta(days=rng.randrange(-30, 3000))).isoformat()
    if rng.random() < 0.03:
        client["wilsonbekwaam"] = True
    resource: dict[str, Any] = {
        "dossier_type": rng.choice(v.DOSSIER_TYPES),
        "client": client,
        "author": {"id": rng.choice((ids["prof"], f"prof-x{rng.randrange(50)}", ids["p1"])),
                   "kind": rng.choice(v.AUTHOR_KINDS)},
        "shielded_from": rng.sample((ids["p1"], ids["p2"], ids["prof"]), rng.choice((0, 0, 0, 0, 1, 2))),
        "confidential_from_parents": rng.random() < 0.15,
    }
    if category is not None:
        resource["category"] = category
    if rng.random() < 0.2:
        resource["last_change"] = (today - timedelta(days=rng.randrange(0, 30 * 365))).isoformat()
    if rng.random() < 0.05:
        resource["about"] = {"id": ids["p1"], "relation": "ouder"}
    context: dict[str, Any] = {"time": moment.isoformat(), "purpose": rng.choice(v.PURPOSES) if rng.random() < 0.3
                               else "care"}
    if subject["type"] == "person" and rng.random() < 0.5:
        context["channel"] = rng.choice(v.CHANNELS)
        context["authn_level"] = rng.choice(v.AUTHN_LEVELS)
    roll = rng.random()
    context["consents"] = [_permission(rng, moment, ids, acting, category, True)
                           for _ in range(rng.choice((1, 1, 2, 3)))] if roll < 0.35 else []
    context["objections"] = [_permission(rng, moment, ids, acting, category, False)] if rng.random() < 0.08 else []
    born = datetime.fromisoformat(client["birthdate"]).replace(tzinfo=AMSTERDAM)
    for c in context["consents"]:  # a consent cannot predate the client (the core refuses it)
        if datetime.fromisoformat(c["given_at"]) < born:
            c["given_at"] = born.isoformat()
    context["attestations"] = [{"kind": rng.choice(v.ATTESTATIONS), "by": ids["prof"]}
                               for _ in range(rng.choice((1, 1, 2)))] if rng.random() < 0.15 else []
    return {"subject": subject, "action": action_data,
            "resource": {"type": "dossier" if whole else "dossier_item", "id": f"d-{i}/{category or 'dossier'}",
                         "properties": resource},
            "context": context}


def corpus(n: int, seed: int) -> list[Request]:
    """``n`` requests, the same for the same (n, seed) on any machine (only ``random.Random(seed)``)."""
    rng = random.Random(seed)
    return [make_request(rng, i) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# the floor: the mini fixture's seven rules by hand, straight on the request dict


def _floor_consent_self(req: Request, client_id: str, acting: dict[str, Any], category: str | None,
                        now: datetime) -> bool:
    roles = {acting["id"], acting["type"]}
    props = acting.get("properties") or {}
    for key in ("relation", "discipline", "kind"):
        if props.get(key):
            roles.add(props[key])
    purpose = req["context"].get("purpose")
    for c in req["context"].get("consents") or ():
        if c["by"] != client_id or c["for"] not in roles:
            continue
        scope = c["scope"]
        if not (scope == "dossier" or scope == category or (scope == "research" and purpose == "research")):
            continue
        if datetime.fromisoformat(c["given_at"]) > now:
            continue
        withdrawn = c.get("withdrawn_at")
        if withdrawn is None or now < datetime.fromisoformat(withdrawn):
            return True
    return False


def floor_decide(req: Request) -> bool:
    """True when the mini bundle allows ``req``: deny overrides allow, default deny."""
    subject = req["subject"]
    sprops = subject.get("properties") or {}
    action = req["action"]["name"]
    res = req["resource"]["properties"]
    client = res["client"]
    kind = subject["type"]
    if subject["id"] in (res.get("shielded_from") or ()):  # shielded (deny, every action)
        return False
    category = res.get("category")
    if action == "copy" and category == "ruwe_testgegevens" and kind != "professional":  # raw-test-data-no-copy
        return False
    if action == "destroy":  # retention-old: the only rule for destroy
        last = res.get("last_change")
        if kind != "professional" or last is None:
            return False
        today = datetime.fromisoformat(req["context"]["time"]).astimezone(AMSTERDAM).date()
        changed = date.fromisoformat(last)
        return today.year - changed.year - ((today.month, today.day) < (changed.month, changed.day)) >= 20
    if action not in ("read", "copy"):
        return False
    relation = sprops.get("relation")
    is_parent = relation in ("ouder", "voogd") and sprops.get("gezag") is True
    if relation != "self" and not is_parent and relation != "ouder":
        return False
    now = datetime.fromisoformat(req["context"]["time"])
    if now.tzinfo is None:
        now = now.replace(tzinfo=AMSTERDAM)
    today = now.astimezone(AMSTERDAM).date()
    born = date.fromisoformat(client["birthdate"])
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if (relation == "ouder" and action == "copy" and age >= 16  # parent-16-plus-blocked-without-consent
            and not _floor_consent_self(req, client["id"], subject, category, now)):
        return False
    if relation == "self":  # self-12-plus
        return age >= 12
    if not is_parent:
        return False
    if age < 12:  # parent-gezag-under-12
        return True
    if action == "read" and age >= 16:  # parent-16-plus-with-consent
        attested = any(a["kind"] == "court_order" for a in req["context"].get("attestations") or ())
        return attested or _floor_consent_self(req, client["id"], subject, category, now)
    return False


# ---------------------------------------------------------------------------------------------
# timing


def _timer_cost() -> float:
    """Nanoseconds one perf_counter_ns pair around a no-op call costs (subtract mentally)."""
    pc, noop = time.perf_counter_ns, (lambda x: x)
    samples = []
    for _ in range(20_000):
        t0 = pc()
        noop(None)
        samples.append(pc() - t0)
    samples.sort()
    return samples[len(samples) // 2]


class Figures:
    """Throughput: the best pass (the least disturbed one, as timeit does); p50/p99/mean: per pass,
    then the median over the passes, so one pass preempted by another process does not decide."""

    def __init__(self, name: str, rates: list[float], cpu: list[float], passes: list[list[int]]) -> None:
        self.name, self.per_s, self.cpu = name, max(rates), min(cpu)
        p50s, p99s, means = [], [], []
        for lat in passes:
            lat.sort()
            p50s.append(lat[len(lat) // 2] / 1000)
            p99s.append(lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000)
            means.append(statistics.fmean(lat) / 1000)
        self.p50, self.p99, self.mean = statistics.median(p50s), statistics.median(p99s), statistics.median(means)


def measure(name: str, func: Callable[[Any], Any], inputs: Sequence[Any], repeats: int) -> Figures:
    for x in inputs[: min(len(inputs), 2000)]:  # warm up
        func(x)
    rates: list[float] = []
    cpu: list[float] = []
    passes: list[list[int]] = []
    pc = time.perf_counter_ns
    for _ in range(repeats):
        gc.collect()
        t0, c0 = time.perf_counter(), time.thread_time()
        for x in inputs:
            func(x)
        cpu.append((time.thread_time() - c0) / len(inputs) * 1e6)
        rates.append(len(inputs) / (time.perf_counter() - t0))
        gc.collect()
        lat = []
        for x in inputs:
            t = pc()
            func(x)
            lat.append(pc() - t)
        passes.append(lat)
    return Figures(name, rates, cpu, passes)


def _load(folder: Path) -> CompiledBundle | None:
    try:
        bundle, _, _ = load_folder(folder)
    except PoortwachterError as exc:
        print(f"# {folder}: does not validate ({str(exc).splitlines()[0]})", file=sys.stderr)
        return None
    if not bundle.vocabulary.youth_care:
        print(f"# {folder}: not in the youth-care vocabulary", file=sys.stderr)
        return None
    return compile_bundle(bundle, "bench")


def _engine(bundle: CompiledBundle) -> tuple[Callable[[Request], Any], Callable[[Any], Any]]:
    def full(req: Request) -> Any:
        return evaluate(bundle, derive_facts(bundle, parse_envelope(req, NOW)))

    def only(facts: Any) -> Any:
        return evaluate(bundle, facts)

    return full, only


def _answer(catalog: Catalog, routing: Routing) -> Callable[[Request], dict[str, Any]]:
    """The full path: request dict → parse → route → facts → evaluate → the rendered answer dict."""
    def full(req: Request) -> dict[str, Any]:
        p = prepare(catalog, req, NOW, routing)
        verdict = evaluate(p.bundle, p.facts)
        return {"decision": verdict.decision, "context": {"decision_id": "bench", **verdict_context(verdict)}}

    return full


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, action="append", default=None,
                    help="a youth-care bundle folder (repeatable; default: policies/nl-jgz and policies/nl-jeugdhulp)")
    ap.add_argument("--n", type=int, default=10_000, help="corpus size (at least 10000 for the issue's figures)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the full path")
    args = ap.parse_args(argv)

    mini = _load(MINI)
    assert mini is not None, "the mini fixture must validate"
    loaded = [_load(folder) for folder in (args.bundle or REAL_BUNDLES)]
    real = [b for b in loaded if b is not None]
    if len(real) != len(loaded):
        return 2
    catalog = Catalog.of(real)
    routing = Routing({t: b.bundle.name for b in real for t in b.bundle.dossier_types}, max_clock_skew=None)
    requests = corpus(args.n, args.seed)

    # every request must be valid in the contract vocabulary, and the floor must agree with the engine
    mini_full, mini_only = _engine(mini)
    mismatches, allowed = 0, 0
    for i, req in enumerate(requests):
        try:
            engine = mini_full(req).decision
        except RequestError as exc:
            print(f"request {i} is invalid: {exc}", file=sys.stderr)
            return 2
        allowed += engine
        if engine != floor_decide(req):
            mismatches += 1
            if mismatches <= 5:
                print(f"MISMATCH request {i}: engine {engine}, floor {not engine}", file=sys.stderr)
    full = _answer(catalog, routing)
    by_bundle: dict[str, list[Request]] = {}
    for req in requests:
        if req["resource"]["properties"]["dossier_type"] in routing.bundles:
            by_bundle.setdefault(prepare(catalog, req, NOW, routing).bundle.bundle.key, []).append(req)
    mini_facts = [derive_facts(mini, parse_envelope(r, NOW)) for r in requests]

    print(f"corpus: {len(requests)} requests (seed {args.seed}); python {sys.version.split()[0]}; gc on; "
          f"{args.repeats} passes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"timer overhead ≈ {_timer_cost():.0f} ns per call (included below)")
    print(f"mini@1.0.0: {len(mini.bundle.rules)} rules, {allowed / len(requests):.0%} allowed; "
          + "; ".join(f"{key}: {len(reqs)} requests, {sum(full(r)['decision'] for r in reqs) / len(reqs):.0%} allowed"
                      for key, reqs in sorted(by_bundle.items())))
    print(f"cross-check floor vs engine (mini rules): {len(requests) - mismatches}/{len(requests)} agree")
    rows, fulls = [], []
    for key, reqs in sorted(by_bundle.items()):
        prepared = [prepare(catalog, r, NOW, routing) for r in reqs]
        row = measure(f"{key}: full path (request dict → answer dict)", full, reqs, args.repeats)
        fulls.append(row)
        rows += [row, measure(f"{key}: evaluate only", lambda p: evaluate(p.bundle, p.facts), prepared, args.repeats)]
    mini_row = measure("engine mini@1.0.0: parse + facts + evaluate", mini_full, requests, args.repeats)
    rows += [mini_row, measure("engine mini@1.0.0: evaluate only", mini_only, mini_facts, args.repeats)]
    floor = measure("floor (mini rules by hand, from the dict)", floor_decide, requests, args.repeats)
    rows.append(floor)
    width = max(len(r.name) for r in rows)
    print(f"\n{'':{width}}  {'decisions/s':>12}  {'p50 µs':>7}  {'p99 µs':>7}  {'mean µs':>7}  {'CPU µs':>7}  "
          f"{'× floor p50':>11}")
    for r in rows:
        print(f"{r.name:{width}}  {r.per_s:12,.0f}  {r.p50:7.2f}  {r.p99:7.2f}  {r.mean:7.2f}  {r.cpu:7.2f}  "
              f"{r.p50 / floor.p50:11.1f}")
    print()
    for r in fulls:
        met = r.p50 < GOAL_P50_US and r.p99 < GOAL_P99_US
        print(f"{r.name}: p50 {r.p50:.1f} µs, p99 {r.p99:.1f} µs (aim p50 < {GOAL_P50_US:.0f}, "
              f"p99 < {GOAL_P99_US:.0f} µs: {'met' if met else 'NOT met'}).")
    print(f"engine / floor: decisions/s {mini_row.per_s / floor.per_s:.3f}, CPU per decision "
          f"{mini_row.cpu / floor.cpu:.1f}× (mini rules, parse + facts + evaluate)")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for reqs in by_bundle.values():
            for req in reqs:
                full(req)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        print("\n" + out.getvalue())
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
