"""Hypothesis properties of the evaluator: it never raises on a valid request, it is deterministic, and
the decision does not depend on the order of the rules in the bundle."""

from __future__ import annotations

import copy
import dataclasses
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bundles_once import compiled, load  # tests/bundles_once.py
from core_strategies import requests  # tests/core/core_strategies.py
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poortwachter.authoring.scenarios import pinned
from poortwachter.core.catalog import Catalog
from poortwachter.core.decide import decide, derive_facts
from poortwachter.core.errors import PoortwachterError
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.evaluate import evaluate
from poortwachter.core.request import parse_envelope
from poortwachter.core.routing import Routing
from poortwachter.core.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _youth_care_bundles() -> dict[str, CompiledBundle]:
    """The fixtures, plus every policies/* bundle in the youth-care vocabulary that validates today."""
    found = {}
    folders = [ROOT / "tests/fixtures/policies/mini", ROOT / "tests/fixtures/policies/mini-overlay",
               *sorted(p.parent for p in (ROOT / "policies").glob("*/bundle.yaml"))]
    for folder in folders:
        try:
            bundle, _, _ = load(folder)
        except PoortwachterError:
            continue  # a bundle under construction: its own suite reports it
        if bundle.vocabulary.youth_care:
            found[bundle.key] = compiled(bundle, "test")  # shared with the suites that read the same bundles
    return found


BUNDLES = _youth_care_bundles()


def check_shape(v: Verdict) -> None:
    assert v.reasons, "a verdict always names why"
    if v.decision:
        assert all(r.effect == "allow" for r in v.reasons) and v.missing == () and v.errors == ()
    else:
        assert all(r.effect == "deny" for r in v.reasons)
    ids = [o.id for o in v.obligations]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("key", sorted(BUNDLES))
@SETTINGS
@given(request=requests())
def test_never_raises_and_is_deterministic(key: str, request: dict[str, Any]) -> None:
    bundle = BUNDLES[key]
    catalog = Catalog.of([bundle])
    request["resource"]["properties"]["dossier_type"] = bundle.bundle.dossier_types[0]  # the law it governs
    request = pinned(request, key)
    routing = Routing.replay()
    snapshot = copy.deepcopy(request)
    first = decide(catalog, request, NOW, routing)
    assert request == snapshot, "deciding must not change the request"
    second = decide(catalog, copy.deepcopy(request), NOW, routing)
    assert first.verdict == second.verdict
    assert first.facts == second.facts
    assert first.verdict.errors == (), first.verdict.errors
    check_shape(first.verdict)


_SHUFFLED: dict[tuple[str, int], CompiledBundle] = {}


def shuffled(key: str, seed: int) -> CompiledBundle:
    """The bundle with its rules in another order: reversed (seed 0) or a seeded shuffle (compiled once)."""
    if (key, seed) not in _SHUFFLED:
        rules = list(BUNDLES[key].bundle.rules)
        if seed == 0:
            rules.reverse()
        else:
            random.Random(seed).shuffle(rules)
        _SHUFFLED[key, seed] = compile_bundle(dataclasses.replace(BUNDLES[key].bundle, rules=tuple(rules)), "test")
    return _SHUFFLED[key, seed]


@pytest.mark.parametrize("key", sorted(BUNDLES))
@SETTINGS
@given(request=requests(), seed=st.integers(0, 7))
def test_decision_is_invariant_under_rule_order(key: str, request: dict[str, Any], seed: int) -> None:
    bundle, other = BUNDLES[key], shuffled(key, seed)
    facts = derive_facts(bundle, parse_envelope(request, NOW))
    a, b = evaluate(bundle, facts), evaluate(other, facts)
    assert a.decision == b.decision
    assert set(a.deciding_rules) == set(b.deciding_rules)
    assert {o.id for o in a.obligations} == {o.id for o in b.obligations}
    assert {m.fact for m in a.missing} == {m.fact for m in b.missing}
    # reasons are listed in the order of the bundle they come from
    order = {r.id: i for i, r in enumerate(other.bundle.rules)}
    listed = [order[r] for r in b.deciding_rules if r in order]
    assert listed == sorted(listed)


def test_bundles_under_test():
    assert {"mini@1.0.0", "mini-overlay@1.0.0"} <= set(BUNDLES)


def _holds(cond: Any, facts: dict[str, Any]) -> bool:
    """The condition algebra interpreted directly from the model (independent of the compiler)."""
    from poortwachter.core.policy.model import All, AnyOf, Leaf, Not

    if isinstance(cond, Leaf):
        value = facts.get(cond.fact, False if cond.value is True or cond.value is False else None)
        if cond.op == "equals":
            return value is cond.value if isinstance(cond.value, bool) else value == cond.value
        if cond.op == "in":
            return value in cond.value
        return {"gte": value >= cond.value, "gt": value > cond.value,
                "lte": value <= cond.value, "lt": value < cond.value}[cond.op]
    if isinstance(cond, Not):
        return not _holds(cond.item, facts)
    if isinstance(cond, All):
        return all(_holds(c, facts) for c in cond.items)
    assert isinstance(cond, AnyOf)
    return any(_holds(c, facts) for c in cond.items)


@pytest.mark.parametrize("key", sorted(BUNDLES))
@SETTINGS
@given(request=requests())
def test_evaluator_agrees_with_a_plain_scan_of_the_rules(key: str, request: dict[str, Any]) -> None:
    """The compiled, indexed evaluator decides as a scan over every rule in bundle order would."""
    bundle = BUNDLES[key]
    facts = derive_facts(bundle, parse_envelope(request, NOW))
    action, category = facts["action.name"], facts["resource.category"]
    applicable = [r for r in bundle.bundle.rules
                  if (r.actions is None or action in r.actions) and (r.categories is None or category in r.categories)
                  and _holds(r.condition, facts)]
    denies = [r for r in applicable if r.effect == "deny"]
    deciding = denies or [r for r in applicable if r.effect == "allow"]
    verdict = evaluate(bundle, facts)
    assert verdict.decision is (not denies and bool(deciding))
    assert verdict.deciding_rules == (tuple(r.id for r in deciding) or ("default-deny",))
    expected_obligations: list[str] = []
    for r in deciding:
        expected_obligations += [o for o in r.obligations if o not in expected_obligations]
    assert [o.id for o in verdict.obligations] == expected_obligations
