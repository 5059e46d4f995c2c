"""The facts the bundle authors asked for (policies/*/NEEDS.md): the consent of the person an item is
about, facts about a disclosure recipient, the statutory retention duty, and consent_by_age bands that
know wilsonbekwaamheid."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from poortwachter.core.errors import BundleInvalid, RequestError
from poortwachter.core.policy.parse import parse_bundle

TIME = "2026-11-22T10:00:00+01:00"
ABOUT_FATHER = {"about": {"id": "vader-1", "relation": "ouder"}}


def consent(by: str, for_: str, scope: str = "dossier", given_at: str = "2026-01-01", **extra: Any) -> dict[str, Any]:
    return {"by": by, "for": for_, "scope": scope, "given_at": given_at, **extra}


def disclose_to(recipient_id: str = "vader-1", **props: Any) -> dict[str, Any]:
    """A professional disclosing to a person (keyword arguments for make_request)."""
    recipient = {"type": "person", "id": recipient_id, "properties": {"relation": "ouder", **props}}
    return {"subject_type": "professional", "subject_id": "prof-1",
            "subject_props": {"discipline": "jeugdarts", "treatment_relation": True},
            "action": "disclose", "action_props": {"recipient": recipient}}


# ---------------------------------------------------------------------------------------------
# consent.about (nl-jeugdhulp NEEDS #1; wegwijzer-dossier-jeugdhulp-2021 §3.1)


@pytest.mark.parametrize(("c", "holds"), [
    (consent("vader-1", "p-1"), True),                                   # by the person it is about, for the subject (id)
    (consent("vader-1", "ouder"), True),                                 # ... for the subject's role
    (consent("vader-1", "voogd"), False),                                # for another role
    (consent("vader-1", "p-1", scope="informatie_over_derde"), True),    # the item's category
    (consent("vader-1", "p-1", scope="groei"), False),                   # another category
    (consent("vader-1", "p-1", given_at="2026-11-23"), False),           # not given yet
    (consent("vader-1", "p-1", withdrawn_at=TIME), False),               # withdrawn at this instant
    (consent("vader-1", "p-1", withdrawn_at="2026-12-01"), True),        # withdrawn later
    (consent("c-1", "p-1"), False),                                      # by the client, not by the father
    (consent("p-2", "p-1"), False),                                      # by a holder of gezag
])
def test_consent_about_has_the_validity_rules_of_every_consent(facts_of, request_for, c, holds):
    req = request_for(category="informatie_over_derde", resource_props=ABOUT_FATHER,
                      client={"gezaghebbenden": ["p-1", "p-2"]}, context={"consents": [c]})
    f = facts_of(req)
    assert f["consent.about"] is holds
    assert f["consent.self"] is False or c["by"] == "c-1"


def test_consent_about_names_the_recipient_on_a_disclosure(facts_of, request_for):
    kw = disclose_to("moeder-1") | {"category": "informatie_over_derde", "resource_props": ABOUT_FATHER}
    for for_, holds in (("moeder-1", True), ("ouder", True), ("prof-1", False), ("jeugdarts", False)):
        f = facts_of(request_for(**kw, context={"consents": [consent("vader-1", for_)]}))
        assert f["consent.about"] is holds, for_


def test_consent_about_needs_an_about_id(facts_of, request_for):
    req = request_for(category="informatie_over_derde", context={"consents": [consent("vader-1", "p-1")]})
    assert facts_of(req)["consent.about"] is False


def test_consent_about_an_item_about_the_client_is_the_clients_consent(facts_of, request_for):
    req = request_for(resource_props={"about": {"id": "c-1", "relation": "self"}},
                      context={"consents": [consent("c-1", "p-1")]})
    f = facts_of(req)
    assert (f["consent.about"], f["consent.self"], f["resource.about_other"]) == (True, True, False)


def test_has_consent_about_lifts_a_deny_and_is_listed_as_missing(build, r, verdict_of, request_for):
    bundle = build([
        r("read", subject={"type": "person"}),
        r("about-other", "deny", when={"all": [{"holds": "resource.about_other"},
                                               {"not": {"has_consent": "about"}}]}),
    ])
    req = request_for(category="informatie_over_derde", resource_props=ABOUT_FATHER)
    v = verdict_of(req, bundle)
    assert v.deciding_rules == ("about-other",)
    assert [(m.fact, m.rule) for m in v.missing] == [("consent.about", "about-other")]
    req["context"]["consents"] = [consent("vader-1", "p-1")]
    assert verdict_of(req, bundle).deciding_rules == ("read",)


# ---------------------------------------------------------------------------------------------
# recipient.shielded, recipient.is_about, recipient.identity_verified (nl-jeugdhulp NEEDS #2, nl-jgz NEEDS #3)


def test_recipient_facts(facts_of, request_for):
    plain = facts_of(request_for(**disclose_to()))
    assert (plain["recipient.shielded"], plain["recipient.is_about"], plain["recipient.identity_verified"]) == (
        False, False, False)
    f = facts_of(request_for(**disclose_to(identity_verified=True),
                             resource_props={"shielded_from": ["vader-1"], **ABOUT_FATHER}))
    assert (f["recipient.shielded"], f["recipient.is_about"], f["recipient.identity_verified"]) == (True, True, True)
    # the subject's own facts are about the subject (the disclosing professional)
    assert (f["subject.shielded"], f["subject.is_about"], f["subject.identity_verified"]) == (False, False, False)


def test_subject_facts_do_not_leak_to_the_recipient(facts_of, request_for):
    kw = disclose_to("moeder-1") | {"subject_id": "vader-1"}
    f = facts_of(request_for(**kw, resource_props={"shielded_from": ["vader-1"], **ABOUT_FATHER}))
    assert (f["subject.shielded"], f["subject.is_about"]) == (True, True)
    assert (f["recipient.shielded"], f["recipient.is_about"]) == (False, False)


def test_without_a_recipient_the_recipient_facts_are_false(facts_of, request_for):
    f = facts_of(request_for(subject_props={"identity_verified": True},
                             resource_props={"shielded_from": ["p-1"], "about": {"id": "p-1", "relation": "ouder"}}))
    assert (f["recipient.shielded"], f["recipient.is_about"], f["recipient.identity_verified"]) == (
        False, False, False)
    assert (f["subject.shielded"], f["subject.is_about"], f["subject.identity_verified"]) == (True, True, True)


def test_recipient_identity_check_is_listed_as_missing(build, r, verdict_of, request_for):
    bundle = build([r("tell-parent", actions=["disclose"], recipient={"type": "person", "identity_verified": True})])
    v = verdict_of(request_for(**disclose_to()), bundle)
    assert not v.decision
    assert [(m.fact, m.rule) for m in v.missing] == [("recipient.identity_verified", "tell-parent")]
    assert verdict_of(request_for(**disclose_to(identity_verified=True)), bundle).decision


def test_recipient_identity_verified_must_be_a_bool(facts_of, request_for):
    with pytest.raises(RequestError) as err:
        facts_of(request_for(**disclose_to(identity_verified="ja")))
    assert err.value.path == "action.properties.recipient.properties.identity_verified"


# ---------------------------------------------------------------------------------------------
# attestation legal_retention_duty (nl-jeugdhulp NEEDS #5; BW 7:455 lid 2)


def test_legal_retention_duty_attestation(build, r, verdict_of, facts_of, request_for):
    req = request_for(action="destroy", context={"attestations": [{"kind": "legal_retention_duty", "by": "prof-7"}]})
    assert facts_of(req)["attestation.legal_retention_duty"] is True
    bundle = build([r("destroy", actions=["destroy"]),
                    r("keep", "deny", actions=["destroy"], when={"has_attestation": "legal_retention_duty"})])
    assert verdict_of(req, bundle).deciding_rules == ("keep",)
    req["context"]["attestations"] = []
    assert verdict_of(req, bundle).deciding_rules == ("destroy",)


# ---------------------------------------------------------------------------------------------
# consent_by_age with wilsonbekwaam parties (nl-jeugdhulp NEEDS #3; wegwijzer-dossier-jeugdhulp-2021 §3.1, privacyhandreiking-duo-plus-2018 §2.2)

JEUGDHULP = [{"below": 12, "from": ["gezag"]}, {"from": ["self"], "wilsonbekwaam": ["gezag"]}]
DUO_PLUS = [{"below": 12, "from": ["gezag"]}, {"below": 16, "from": ["self", "gezag"], "wilsonbekwaam": ["gezag"]},
            {"from": ["self"], "wilsonbekwaam": ["gezag"]}]


@pytest.mark.parametrize(("bands", "birthdate", "wilsonbekwaam", "given_by", "valid"), [
    (JEUGDHULP, "2012-01-01", False, ["p-1"], False),      # 14: the young person decides
    (JEUGDHULP, "2012-01-01", True, ["p-1"], True),        # 14, wilsonbekwaam: a holder of gezag
    (JEUGDHULP, "2012-01-01", True, ["p-9"], False),       # ... listed in client.gezaghebbenden
    (JEUGDHULP, "2012-01-01", True, [], False),
    (JEUGDHULP, "2012-01-01", True, ["c-1"], False),       # a wilsonbekwame client cannot consent himself
    (JEUGDHULP, "2012-01-01", True, ["c-1", "p-1"], True),
    (JEUGDHULP, "2008-01-01", True, ["c-1"], False),       # 18: still not himself (BW 7:465 lid 2)
    (JEUGDHULP, "2016-01-01", True, ["p-1"], True),        # 10: gezag anyway
    (JEUGDHULP, "2016-01-01", True, ["c-1"], False),
    (DUO_PLUS, "2012-01-01", False, ["p-1"], False),       # 14: the minor and a holder of gezag
    (DUO_PLUS, "2012-01-01", True, ["p-1"], True),
    (DUO_PLUS, "2012-01-01", True, ["c-1"], False),        # 14, wilsonbekwaam: his own consent does not count
    (DUO_PLUS, "2008-01-01", False, ["c-1"], True),        # 18, wilsbekwaam: he alone
    (DUO_PLUS, "2008-01-01", True, ["c-1"], False),
    (DUO_PLUS, "2008-01-01", True, ["p-2"], True),         # 18, wilsonbekwaam
    (DUO_PLUS, "2008-01-01", False, ["p-2"], False),
])
def test_consent_valid_for_a_wilsonbekwame_client(facts_of, request_for, build, r, bands, birthdate, wilsonbekwaam,
                                                  given_by, valid):
    bundle = build([r("x")], consent_by_age=bands)
    req = request_for(birthdate=birthdate, client={"gezaghebbenden": ["p-1", "p-2"], "wilsonbekwaam": wilsonbekwaam},
                      context={"consents": [consent(b, "ouder") for b in given_by]})
    assert facts_of(req, bundle)["consent.valid"] is valid


@pytest.mark.parametrize("bands", [JEUGDHULP, DUO_PLUS], ids=["jeugdhulp", "duo-plus"])
def test_wilsonbekwaam_band_replaces_the_client_consent(facts_of, request_for, build, r, bands):
    """With the entry, `consent.valid` is the band's own rule for a wilsbekwame client and, for a
    wilsonbekwame client in a band that has the entry, a holder of gezag's consent (the client's own
    consent no longer counts: privacyhandreiking-duo-plus-2018 §2.2, wegwijzer-dossier-jeugdhulp-2021 §3.1, BW 7:465 lid 2)."""
    spelled = build([r("x")], consent_by_age=[{k: v for k, v in b.items() if k != "wilsonbekwaam"} for b in bands])
    folded = build([r("x")], consent_by_age=bands)
    for birthdate, wb, by_self, by_gezag in itertools.product(
            ("2020-01-01", "2014-11-22", "2014-11-23", "2012-01-01", "2010-11-22", "2010-11-23", "2000-01-01"),
            (False, True), (False, True), (False, True)):
        given = [consent(b, "ouder") for b, yes in (("c-1", by_self), ("p-1", by_gezag)) if yes]
        req = request_for(birthdate=birthdate, client={"gezaghebbenden": ["p-1"], "wilsonbekwaam": wb},
                          context={"consents": given})
        old = facts_of(req, spelled)
        wilsonbekwaam_band = wb and old["client.age"] >= 12
        expected = by_gezag if wilsonbekwaam_band else bool(old["consent.valid"])
        assert facts_of(req, folded)["consent.valid"] is expected, (birthdate, wb, by_self, by_gezag)


@pytest.mark.parametrize("band", [
    {"from": ["self"], "wilsonbekwaam": ["self"]},            # the wilsonbekwame client cannot consent himself
    {"from": ["self"], "wilsonbekwaam": "gezag"},             # a list
    {"from": ["self"], "wilsonbekwaam": ["vertegenwoordiger"]},
    {"from": ["self"], "when_wilsonbekwaam": ["gezag"]},      # unknown keys are errors, not ignored
])
def test_consent_band_errors(r, band):
    manifest = {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"],
                "consent_by_age": [{"below": 12, "from": ["gezag"]}, band]}
    with pytest.raises(BundleInvalid, match="consent_by_age"):
        parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", [r("a")])])


def test_wilsonbekwaam_band_is_parsed_and_inherited(r):
    manifest = {"name": "b", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], "consent_by_age": JEUGDHULP}
    base, _ = parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", [r("a")])])
    assert [(b.below, b.from_, b.wilsonbekwaam) for b in base.consent_by_age] == [
        (12, ("gezag",), ()), (None, ("self",), ("gezag",))]
    overlay = {"name": "o", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], "extends": "b"}
    bundle, _ = parse_bundle("o/bundle.yaml", overlay, [("o/rules/r.yaml", [r("o")])], lambda name: base)
    assert bundle.consent_by_age == base.consent_by_age
