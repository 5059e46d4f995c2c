"""Scenario suites (`tests/*.yaml`): requests with the verdict the law requires, and rule coverage.

Modelled on Cerbos' policy tests: a suite is data, each scenario cites where the law says so, a
failure prints what was expected against what came, and coverage names the rules no scenario made
decide, so an author sees which rules are untested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..core.catalog import Catalog
from ..core.decide import decide
from ..core.errors import Diagnostic, RequestError, Span
from ..core.policy.source import line_of
from ..core.routing import Routing
from ..core.verdict import Verdict

SCENARIO_KEYS = {"id", "source", "why", "bundle", "request", "expect", "description"}
EXPECT_KEYS = {"decision", "rules", "obligations", "obligations_any", "basis_any", "missing_any", "error"}
EPOCH = datetime(2000, 1, 1)  # only used if a scenario omits context.time: scenarios must not depend on "now"


def plain(data: Any) -> Any:
    """YAML values as JSON would carry them (dates become ISO strings)."""
    if isinstance(data, Mapping):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(x) for x in data]
    if isinstance(data, datetime | date):
        return data.isoformat()
    return data


@dataclass(frozen=True)
class Scenario:
    id: str
    source: str
    why: str
    bundle: str | None
    request: dict[str, Any]
    expect: dict[str, Any]
    span: Span


@dataclass
class Outcome:
    scenario: Scenario
    problems: list[str] = field(default_factory=list)
    verdict: Verdict | None = None
    bundle_key: str = ""

    @property
    def passed(self) -> bool:
        return not self.problems


def read_suites(files: Iterable[tuple[str, Any]]) -> tuple[list[Scenario], list[Diagnostic]]:
    scenarios: list[Scenario] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for file, data in files:
        items = data.get("scenarios") if isinstance(data, Mapping) else None
        if not isinstance(items, list):
            problems.append(Diagnostic("error", Span(file, line_of(data)), "a suite is a mapping with a 'scenarios' list"))
            continue
        for item in items:
            line = line_of(item)
            sid = item.get("id") if isinstance(item, Mapping) else None
            if not isinstance(sid, str) or not sid:
                problems.append(Diagnostic("error", Span(file, line), "scenario without an 'id'"))
                continue
            unknown = set(item) - SCENARIO_KEYS | set(item.get("expect") or {}) - EXPECT_KEYS
            missing = [k for k in ("source", "request", "expect") if not item.get(k)]
            if sid in seen:
                problems.append(Diagnostic("error", Span(file, line), f"duplicate scenario id {sid!r}"))
            if unknown or missing:
                problems.append(Diagnostic("error", Span(file, line),
                                           f"scenario {sid}: unknown keys {sorted(unknown)}, missing {missing}"))
                continue
            seen.add(sid)
            scenarios.append(Scenario(sid, str(item["source"]), str(item.get("why", "")), item.get("bundle"),
                                      plain(item["request"]), plain(item["expect"]), Span(file, line)))
    return scenarios, problems


def _check(expect: Mapping[str, Any], verdict: Verdict) -> list[str]:
    problems = []
    rules = verdict.deciding_rules
    if "decision" in expect and bool(expect["decision"]) != verdict.decision:
        problems.append(f"decision: expected {_word(expect['decision'])}, got {_word(verdict.decision)} "
                        f"(decided by {', '.join(rules)})")
    if "rules" in expect and set(expect["rules"]) != set(rules):
        problems.append(f"rules: expected {sorted(expect['rules'])}, got {sorted(rules)}")
    got_obl = set(verdict.obligation_ids)
    if "obligations" in expect and not set(expect["obligations"]) <= got_obl:
        problems.append(f"obligations: expected all of {sorted(expect['obligations'])}, got {sorted(got_obl)}")
    if "obligations_any" in expect and not set(expect["obligations_any"]) & got_obl:
        problems.append(f"obligations: expected one of {sorted(expect['obligations_any'])}, got {sorted(got_obl)}")
    if "basis_any" in expect:
        bases = [b for r in verdict.reasons for b in r.basis]
        if not any(want in b for want in expect["basis_any"] for b in bases):
            problems.append(f"basis: expected one mentioning {expect['basis_any']}, got {bases}")
    if "missing_any" in expect:
        got_missing = {m.fact for m in verdict.missing}
        if not set(expect["missing_any"]) & got_missing:
            problems.append(f"missing: expected one of {expect['missing_any']}, got {sorted(got_missing)}")
    return problems


def _word(decision: Any) -> str:
    return "allow" if decision else "deny"


def pinned(request: dict[str, Any], bundle: str) -> dict[str, Any]:
    """``request`` with ``context.bundle`` set to ``bundle`` unless it names one itself."""
    if not isinstance(request, dict):
        return request  # the parser names what is wrong with it
    context = request.get("context")
    if context is None:
        return {**request, "context": {"bundle": bundle}}
    if isinstance(context, dict) and context.get("bundle") is None:
        return {**request, "context": {**context, "bundle": bundle}}
    return request


def run(catalog: Catalog, under_test: str, scenarios: Iterable[Scenario],
        routing: Routing | None = None) -> list[Outcome]:
    """Decide every scenario. By default a scenario naming no bundle is decided by ``under_test``
    (``name@version``), which must still govern its dossier type; with ``routing`` the scenarios are
    replayed as a service would route them (no bundle named unless the scenario names one)."""
    outcomes = []
    for sc in scenarios:
        outcome = Outcome(sc)
        request = sc.request if routing is not None and sc.bundle is None else pinned(sc.request, sc.bundle or under_test)
        try:
            decided = decide(catalog, request, EPOCH, routing or Routing.replay())
        except RequestError as exc:
            if sc.expect.get("error") and sc.expect["error"] in exc.path:
                outcomes.append(outcome)
                continue
            outcome.problems.append(f"request error: {exc}")
            outcomes.append(outcome)
            continue
        outcome.verdict = decided.verdict
        outcome.bundle_key = decided.bundle.bundle.key
        if sc.expect.get("error"):
            outcome.problems.append(f"expected a request error at {sc.expect['error']}, got a verdict")
        outcome.problems.extend(_check(sc.expect, decided.verdict))
        outcomes.append(outcome)
    return outcomes


def uncovered(rule_ids: Iterable[str], bundle_key: str, outcomes: Iterable[Outcome]) -> list[str]:
    """Rules of ``bundle_key`` that no scenario made decide."""
    decided = {r for o in outcomes if o.verdict and o.bundle_key == bundle_key for r in o.verdict.deciding_rules}
    return [r for r in rule_ids if r not in decided]
