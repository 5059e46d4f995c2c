"""Combining: default deny, deny overrides allow, every applicable rule named in bundle order,
obligations as a union, and `missing` (what a caller could obtain to turn a deny into an allow)."""

from __future__ import annotations

import pytest

from poortwachter.core.policy.evaluate import evaluate, explain
from poortwachter.core.verdict import DEFAULT_DENY


def test_default_deny(verdict_of, request_for, build, r):
    bundle = build([r("only-copy", actions=["copy"])])
    v = verdict_of(request_for(action="read"), bundle)
    assert v.decision is False
    assert v.reasons == (DEFAULT_DENY,)
    assert v.obligations == () and v.missing == ()
    assert (v.bundle.name, v.bundle.version, v.bundle.revision) == ("t", "1.0.0", "test")


def test_deny_overrides_allow_whatever_the_order(verdict_of, request_for, build, r):
    for rules in ([r("a"), r("d", "deny")], [r("d", "deny"), r("a")]):
        v = verdict_of(request_for(), build(rules))
        assert v.decision is False
        assert v.deciding_rules == ("d",)
        assert [x.effect for x in v.reasons] == ["deny"]


def test_every_applicable_rule_is_named_in_bundle_order(verdict_of, request_for, build, r):
    rules = [r("z-allow"), r("not-me", subject={"relation": "voogd"}), r("a-allow"), r("m-allow", actions=["any"])]
    v = verdict_of(request_for(), build(rules))
    assert v.decision is True
    assert v.deciding_rules == ("z-allow", "a-allow", "m-allow")
    assert v.reasons[0].text.en == "rule z-allow" and v.reasons[0].basis == ("BW 7:456",)
    assert v.reasons[0].source == ("fixture.txt:1-2",)
    rules = [r("d2", "deny"), r("a1"), r("d1", "deny", actions=["read", "copy"]), r("a2")]
    v = verdict_of(request_for(), build(rules))
    assert v.deciding_rules == ("d2", "d1")


def test_obligations_are_the_union_in_rule_order(verdict_of, request_for, build, r):
    rules = [
        r("a1", obligations=["log_access", "inform_client"]),
        r("a2", obligations=["inform_client", "redact_third_party"]),
        r("a3", subject={"relation": "voogd"}, obligations=["consult_colleague"]),  # does not apply
    ]
    v = verdict_of(request_for(), build(rules))
    assert [o.id for o in v.obligations] == ["log_access", "inform_client", "redact_third_party"]
    assert v.obligations[0].text.nl.startswith("Leg deze toegang vast")


def test_a_deny_carries_only_the_deny_rules_obligations(verdict_of, request_for, build, r):
    rules = [r("a1", obligations=["log_access"]), r("d1", "deny", obligations=["explain_refusal"])]
    meta = {"obligations": {"explain_refusal": {"nl": "Leg uit.", "en": "Explain."}}}
    v = verdict_of(request_for(), build(rules, **meta))
    assert [o.id for o in v.obligations] == ["explain_refusal"]
    assert v.obligations[0].text.en == "Explain."


def test_category_index(verdict_of, request_for, build, r):
    rules = [r("groei-only", resource={"category": ["groei", "vaccinatie"]}), r("any-category")]
    bundle = build(rules)
    assert verdict_of(request_for(category="groei"), bundle).deciding_rules == ("groei-only", "any-category")
    assert verdict_of(request_for(category="medisch"), bundle).deciding_rules == ("any-category",)
    # the whole dossier has no category: only rules that name none cover it
    whole = request_for(resource_type="dossier", category=None)
    assert verdict_of(whole, bundle).deciding_rules == ("any-category",)
    assert bundle.bucket("read", "groei").allows[0].rule.id == "groei-only"
    assert bundle.bucket("write", "groei").allows == ()


@pytest.mark.parametrize(("when", "applies"), [
    ({"holds": "subject.gezag"}, True),
    ({"not": {"holds": "subject.gezag"}}, False),
    ({"all": [{"holds": "subject.gezag"}, {"age_below": 16}]}, True),
    ({"all": [{"holds": "subject.gezag"}, {"age_at_least": 16}]}, False),
    ({"any": [{"age_at_least": 16}, {"fact": "subject.relation", "equals": "ouder"}]}, True),
    ({"any": [{"age_at_least": 16}, {"fact": "subject.relation", "equals": "voogd"}]}, False),
    ({"fact": "subject.relation", "in": ["voogd", "ouder"]}, True),
    ({"fact": "subject.relation", "in": ["voogd"]}, False),
    ({"fact": "client.age", "gte": 12}, True),   # the client is 12
    ({"fact": "client.age", "gt": 12}, False),
    ({"fact": "client.age", "lte": 12}, True),
    ({"fact": "client.age", "lt": 12}, False),
    ({"fact": "subject.gezag", "equals": False}, False),
    ({"has_consent": "gezag"}, False),
    ({"not": {"has_objection": "self"}}, True),
    ({"has_attestation": "emergency"}, False),
    ({"not": {"has_attestation": "emergency"}}, True),
])
def test_condition_operators(verdict_of, request_for, build, r, when, applies):
    bundle = build([r("x", when=when)])
    assert verdict_of(request_for(), bundle).decision is applies


def test_matchers(verdict_of, request_for, build, r):
    bundle = build([r("x", subject={"relation": ["ouder", "voogd"], "gezag": True, "type": "person"})])
    assert verdict_of(request_for(), bundle).decision
    assert not verdict_of(request_for(subject_props={"gezag": False}), bundle).decision
    assert not verdict_of(request_for(subject_props={"relation": "pleegouder"}), bundle).decision
    recipient = {"type": "organisation", "id": "o-1", "properties": {"kind": "school"}}
    bundle = build([r("y", actions=["disclose"], recipient={"kind": ["school", "gemeente"]})])
    assert verdict_of(request_for(action="disclose", action_props={"recipient": recipient}), bundle).decision
    recipient["properties"]["kind"] = "politie"
    assert not verdict_of(request_for(action="disclose", action_props={"recipient": recipient}), bundle).decision


def test_missing_on_default_deny_lists_obtainable_facts(verdict_of, request_for):
    """mini: a parent of a 16-year-old may read with the young person's consent or a court order."""
    v = verdict_of(request_for(birthdate="2010-01-01"))
    assert v.deciding_rules == ("default-deny",)
    assert [(m.fact, m.rule) for m in v.missing] == [
        ("consent.self", "parent-16-plus-with-consent"),
        ("attestation.court_order", "parent-16-plus-with-consent"),
    ]
    assert v.missing[0].text.en == "consent of the young person"
    assert v.missing[0].text.nl == "toestemming van de jongere zelf"


def test_missing_is_empty_when_no_allow_rule_could_apply(verdict_of, request_for):
    # a pleegouder matches no allow rule of mini at all: nothing to obtain
    v = verdict_of(request_for(birthdate="2010-01-01", subject_props={"relation": "pleegouder"}))
    assert v.deciding_rules == ("default-deny",) and v.missing == ()
    # the consent is there already but the age does not fit: an age cannot be obtained
    v = verdict_of(request_for(birthdate="2012-01-01", subject_props={"gezag": False}))
    assert v.missing == ()


def test_missing_on_a_deny_rule_with_not_has_consent(verdict_of, request_for):
    v = verdict_of(request_for(action="copy", birthdate="2010-01-01"))
    assert v.deciding_rules == ("parent-16-plus-blocked-without-consent",)
    assert [(m.fact, m.rule) for m in v.missing] == [("consent.self", "parent-16-plus-blocked-without-consent")]


def test_missing_names_the_identity_check(verdict_of, request_for, build, r):
    bundle = build([r("x", when={"all": [{"holds": "subject.identity_verified"}, {"has_consent": "valid"}]})])
    v = verdict_of(request_for(), bundle)
    assert [m.fact for m in v.missing] == ["subject.identity_verified", "consent.valid"]
    v = verdict_of(request_for(subject_props={"identity_verified": True}), bundle)
    assert [m.fact for m in v.missing] == ["consent.valid"]


def test_a_deny_rule_without_an_obtainable_escape_has_no_missing(verdict_of, request_for):
    v = verdict_of(request_for(resource_props={"shielded_from": ["p-1"]}))
    assert v.deciding_rules == ("shielded",) and v.missing == ()


def test_consent_lifts_the_deny_and_allows(verdict_of, request_for):
    consent = {"by": "c-1", "for": "ouder", "scope": "dossier", "given_at": "2026-01-01"}
    v = verdict_of(request_for(birthdate="2010-01-01", context={"consents": [consent]}))
    assert v.decision and v.deciding_rules == ("parent-16-plus-with-consent",)
    v = verdict_of(request_for(action="copy", birthdate="2010-01-01", context={"consents": [consent]}))
    assert not v.decision and v.deciding_rules == ("default-deny",)  # the consent rule allows read only


def test_evaluation_error_denies_and_never_raises(mini, request_for, facts_of):
    facts = facts_of(request_for(birthdate="2010-01-01"))
    del facts["client.age"]  # facts no vocabulary would produce: comparisons cannot evaluate
    v = evaluate(mini, facts)
    assert v.decision is False
    assert v.reasons[0].rule == "evaluation-error"
    assert v.errors and "KeyError" in v.errors[0]
    assert v.obligations == () and v.missing == ()


def test_explain_traces_every_rule(mini, request_for, facts_of):
    e = explain(mini, facts_of(request_for(birthdate="2010-01-01")))
    traces = {t.rule: t for t in e.rules}
    assert [t.rule for t in e.rules] == [r.id for r in mini.bundle.rules]
    assert traces["retention-old"].considered is False  # destroy only
    assert traces["parent-16-plus-with-consent"].considered and not traces["parent-16-plus-with-consent"].applied
    assert "consent.self or attestation.court_order" in traces["parent-16-plus-with-consent"].failed[0]
    assert e.verdict == evaluate(mini, facts_of(request_for(birthdate="2010-01-01")))
