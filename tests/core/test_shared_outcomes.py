"""Equal outcomes share one Verdict and one rendered context (issue 15): sharing must never change an
answer, leak one request's identifiers into another's, or grow without bound."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from poortwachter.core import answer
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.decide import derive_facts
from poortwachter.core.policy import evaluate as evaluate_module
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.evaluate import evaluate
from poortwachter.core.request import parse_envelope

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=AMSTERDAM)


def _facts(bundle: CompiledBundle, request: dict[str, Any]) -> dict[str, Any]:
    return derive_facts(bundle, parse_envelope(request, NOW))


def test_an_outcome_seen_before_is_the_same_verdict_as_a_fresh_bundle_gives(
        mini: CompiledBundle, request_for: Callable[..., dict[str, Any]]) -> None:
    fresh = compile_bundle(mini.bundle, mini.ref.revision)  # remembers nothing yet
    requests = [
        request_for(birthdate="2018-01-01"),  # a parent with gezag, client of 8: allowed
        request_for(birthdate="2018-01-01", subject_id="p-2"),  # the same outcome for someone else
        request_for(birthdate="2008-01-01", action="copy"),  # 16+: a deny that consent would lift
        request_for(subject_props={"relation": "derde", "gezag": False}),  # default deny
        request_for(resource_props={"shielded_from": ["p-1"]}),  # shielded
    ]
    for request in requests:
        facts = _facts(mini, request)
        first, again = evaluate(mini, facts), evaluate(mini, dict(facts))
        assert again is first
        assert first == evaluate(fresh, facts)
        # the ids the decision log names are the verdict's own, made once with it
        assert first.deciding_rules == tuple(r.rule for r in first.reasons) and first.deciding_rules
        assert first.obligation_ids == tuple(o.id for o in first.obligations)
    lifted = evaluate(mini, _facts(mini, requests[2]))
    assert lifted.decision is False and [m.fact for m in lifted.missing] == ["consent.self"]
    allowed = [evaluate(mini, _facts(mini, r)) for r in requests[:2]]
    assert allowed[0].decision is True and allowed[0] is allowed[1]


def test_the_shared_context_has_no_decision_id_and_a_decision_id_gets_its_own(
        mini: CompiledBundle, request_for: Callable[..., dict[str, Any]]) -> None:
    verdict = evaluate(mini, _facts(mini, request_for()))
    shared = answer.verdict_context(verdict)
    assert answer.verdict_context(verdict) is shared and "decision_id" not in shared
    own = answer.verdict_context(verdict, "d-1")
    assert own is not shared and own["decision_id"] == "d-1"
    assert {k: v for k, v in own.items() if k != "decision_id"} == shared
    assert "decision_id" not in answer.verdict_context(verdict)


def test_remembered_verdicts_are_bounded(mini: CompiledBundle, request_for: Callable[..., dict[str, Any]],
                                         monkeypatch: Any) -> None:
    bundle = compile_bundle(mini.bundle, mini.ref.revision)
    monkeypatch.setattr(evaluate_module, "MAX_REMEMBERED", 2)
    outcomes = [request_for(birthdate="2018-01-01"), request_for(birthdate="2008-01-01", action="copy"),
                request_for(subject_props={"relation": "derde", "gezag": False}),
                request_for(resource_props={"shielded_from": ["p-1"]})]
    verdicts = [evaluate(bundle, _facts(bundle, r)) for r in outcomes]
    assert len({id(v) for v in verdicts}) == len(verdicts)  # four different outcomes
    assert 0 < len(bundle.verdicts) <= 2
    assert [evaluate(bundle, _facts(bundle, r)) for r in outcomes] == verdicts  # equal after forgetting
