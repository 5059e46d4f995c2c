"""Consent and objection facts: who consented, for whom, about what, from when until when."""

from __future__ import annotations

from typing import Any

import pytest

TIME = "2026-11-22T10:00:00+01:00"


def consent(by: str = "c-1", for_: str = "ouder", scope: str = "dossier", given_at: str = "2026-01-01",
            **extra: Any) -> dict[str, Any]:
    return {"by": by, "for": for_, "scope": scope, "given_at": given_at, **extra}


def facts(facts_of, request_for, consents=(), objections=(), **kw):
    ctx = {"consents": list(consents), "objections": list(objections), **kw.pop("context", {})}
    kw.setdefault("client", {"gezaghebbenden": ["p-1", "p-2"]})
    bundle = kw.pop("bundle", None)
    return facts_of(request_for(context=ctx, **kw), bundle)


@pytest.mark.parametrize(("c", "valid"), [
    (consent(), True),                                           # by role (relation) of the acting subject
    (consent(for_="p-1"), True),                                 # by id
    (consent(for_="person"), True),                              # by subject type
    (consent(for_="voogd"), False),                              # another role
    (consent(for_="p-9"), False),                                # another person
    (consent(scope="gespreksverslag"), True),                    # the item's category
    (consent(scope="groei"), False),                             # another category
    (consent(scope="research"), False),                          # research covers only purpose research
    (consent(given_at=TIME), True),                              # given at this very instant
    (consent(given_at="2026-11-22T10:00:01+01:00"), False),      # given in the future
    (consent(given_at="2026-11-22T09:00:01Z"), False),           # the same future instant, in UTC
    (consent(given_at="2026-11-22"), True),                      # a bare date: from midnight Amsterdam
    (consent(given_at="2026-11-23"), False),
    (consent(withdrawn_at="2026-11-22T09:59:59+01:00"), False),  # withdrawn before the decision
    (consent(withdrawn_at=TIME), False),                         # withdrawn at this instant
    (consent(withdrawn_at="2026-11-22T10:00:01+01:00"), True),   # withdrawn later: counts until then
    (consent(withdrawn_at="2026-11-22T09:30:00Z"), True),        # 10:30 Amsterdam: later
    (consent(withdrawn_at="2026-11-22T08:30:00Z"), False),       # 09:30 Amsterdam: earlier
    (consent(withdrawn_at=None), True),
    (consent(by="p-1"), False),                                  # not by the client
])
def test_consent_self(facts_of, request_for, c, valid):
    assert facts(facts_of, request_for, [c])["consent.self"] is valid


def test_research_scope_covers_research_purpose_only(facts_of, request_for):
    c = consent(scope="research")
    assert facts(facts_of, request_for, [c], context={"purpose": "research"})["consent.self"] is True
    assert facts(facts_of, request_for, [c], context={"purpose": "care"})["consent.self"] is False
    assert facts(facts_of, request_for, [c], context={"purpose": None})["consent.self"] is False
    # a consent for the whole dossier covers research too (docs/facts.md)
    assert facts(facts_of, request_for, [consent()], context={"purpose": "research"})["consent.self"] is True


def test_category_scope_does_not_cover_the_whole_dossier(facts_of, request_for):
    whole = {"resource_type": "dossier", "category": None}
    assert facts(facts_of, request_for, [consent(scope="groei")], **whole)["consent.self"] is False
    assert facts(facts_of, request_for, [consent(scope="dossier")], **whole)["consent.self"] is True


def test_professional_roles(facts_of, request_for):
    prof = {"subject_type": "professional", "subject_id": "prof-1",
            "subject_props": {"discipline": "jeugdarts", "treatment_relation": False}}
    for for_, valid in (("jeugdarts", True), ("prof-1", True), ("professional", True), ("gedragswetenschapper", False),
                        ("ouder", False)):
        assert facts(facts_of, request_for, [consent(for_=for_)], **prof)["consent.self"] is valid, for_


def test_disclosure_consent_names_the_recipient_not_the_subject(facts_of, request_for):
    recipient = {"type": "organisation", "id": "school-1", "properties": {"kind": "school"}}
    prof = {"subject_type": "professional", "subject_id": "prof-1", "subject_props": {"discipline": "jeugdarts"},
            "action": "disclose", "action_props": {"recipient": recipient}}
    for for_, valid in (("school", True), ("school-1", True), ("organisation", True), ("jeugdarts", False),
                        ("prof-1", False)):
        assert facts(facts_of, request_for, [consent(for_=for_)], **prof)["consent.self"] is valid, for_


def test_gezag_consents(facts_of, request_for):
    one, two, other = consent(by="p-1"), consent(by="p-2"), consent(by="p-9")
    f = facts(facts_of, request_for, [one])
    assert (f["consent.gezag"], f["consent.all_gezag"], f["consent.self"]) == (True, False, False)
    f = facts(facts_of, request_for, [one, two])
    assert (f["consent.gezag"], f["consent.all_gezag"]) == (True, True)
    f = facts(facts_of, request_for, [other])
    assert (f["consent.gezag"], f["consent.all_gezag"]) == (False, False)
    # withdrawn by one of the two: no longer all
    f = facts(facts_of, request_for, [one, consent(by="p-2", withdrawn_at="2026-06-01")])
    assert (f["consent.gezag"], f["consent.all_gezag"]) == (True, False)


def test_all_gezag_is_false_when_nobody_is_listed(facts_of, request_for):
    f = facts(facts_of, request_for, [consent(by="p-1")], client={"gezaghebbenden": []})
    assert (f["consent.gezag"], f["consent.all_gezag"]) == (False, False)


@pytest.mark.parametrize(("birthdate", "given_by", "valid"), [
    # under 12: a holder of gezag
    ("2015-01-01", [], False),
    ("2015-01-01", ["c-1"], False),
    ("2015-01-01", ["p-1"], True),
    # 12-15: the child AND a holder of gezag
    ("2012-01-01", ["c-1"], False),
    ("2012-01-01", ["p-2"], False),
    ("2012-01-01", ["c-1", "p-2"], True),
    # 16 and over: the young person alone
    ("2010-01-01", ["p-1", "p-2"], False),
    ("2010-01-01", ["c-1"], True),
    # the band boundaries are birthdays too (12th birthday on the decision date)
    ("2014-11-22", ["p-1"], False),
    ("2014-11-23", ["p-1"], True),
    ("2010-11-22", ["c-1"], True),
    ("2010-11-23", ["c-1"], False),
])
def test_consent_valid_by_default_age_bands(facts_of, request_for, birthdate, given_by, valid):
    f = facts(facts_of, request_for, [consent(by=b) for b in given_by], birthdate=birthdate)
    assert f["consent.valid"] is valid


def test_consent_valid_follows_the_bundles_own_bands(facts_of, request_for, build, r):
    bundle = build([r("x")], consent_by_age=[{"below": 16, "from": ["gezag"]}, {"from": ["self", "gezag"]}])
    young = facts(facts_of, request_for, [consent(by="p-1")], birthdate="2012-01-01", bundle=bundle)
    assert young["consent.valid"] is True
    adult = facts(facts_of, request_for, [consent(by="c-1")], birthdate="2008-01-01", bundle=bundle)
    assert adult["consent.valid"] is False
    both = facts(facts_of, request_for, [consent(by="c-1"), consent(by="p-2")], birthdate="2008-01-01", bundle=bundle)
    assert both["consent.valid"] is True


@pytest.mark.parametrize(("o", "applies"), [
    (consent(), True),
    (consent(for_="p-1"), True),
    (consent(for_="voogd"), False),
    (consent(scope="gespreksverslag"), True),
    (consent(scope="groei"), False),
    (consent(scope="research"), False),
    (consent(given_at="2026-11-22T10:00:01+01:00"), False),  # not yet made
    (consent(given_at=TIME), True),
    (consent(by="p-1"), False),                              # objection.self is the client's
])
def test_objection_self(facts_of, request_for, o, applies):
    assert facts(facts_of, request_for, objections=[o])["objection.self"] is applies


def test_objections_cannot_be_withdrawn_through_the_request(facts_of, request_for):
    """The contract's objection has no withdrawn_at; one that is given keeps applying (the safe side)."""
    o = consent(withdrawn_at="2026-06-01")
    assert facts(facts_of, request_for, objections=[o])["objection.self"] is True


def test_objection_by_gezag(facts_of, request_for):
    f = facts(facts_of, request_for, objections=[consent(by="p-2")])
    assert (f["objection.gezag"], f["objection.self"]) == (True, False)
    f = facts(facts_of, request_for, objections=[consent(by="p-9")])
    assert f["objection.gezag"] is False


def test_research_objection(facts_of, request_for):
    o = consent(for_="onderzoek", scope="research")
    recipient = {"type": "organisation", "id": "umc", "properties": {"kind": "onderzoek"}}
    kw = {"subject_type": "professional", "subject_id": "prof-1", "action": "disclose",
          "action_props": {"recipient": recipient}}
    assert facts(facts_of, request_for, objections=[o], context={"purpose": "research"}, **kw)["objection.self"]
    assert not facts(facts_of, request_for, objections=[o], context={"purpose": "care"}, **kw)["objection.self"]


def test_consent_does_not_count_as_objection_and_vice_versa(facts_of, request_for):
    f = facts(facts_of, request_for, [consent()])
    assert (f["consent.self"], f["objection.self"]) == (True, False)
    f = facts(facts_of, request_for, objections=[consent()])
    assert (f["consent.self"], f["objection.self"]) == (False, True)
