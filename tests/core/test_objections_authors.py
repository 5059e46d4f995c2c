"""The contract's objections and author kinds as the contract spells them: an objection needs only `by`
and `scope` (without `given_at` it is in force; without `for` it is aimed at no one in particular, so it
never counts against one named professional nor locks out a team); `form` is optional. Author kinds
`organisation` (a report from another institution) and `person` (another person) are third parties."""

from __future__ import annotations

from typing import Any

import pytest

from poortwachter.core.errors import RequestError

PROFESSIONAL = {"subject_type": "professional", "subject_id": "prof-1",
                "subject_props": {"discipline": "jeugdarts", "treatment_relation": True, "team": "jgz-4-18"}}


def objection(**fields: Any) -> dict[str, Any]:
    return {"by": "c-1", "scope": "dossier", **fields}


def facts(facts_of, request_for, objections, **kw):
    kw.setdefault("client", {"gezaghebbenden": ["p-2"]})
    return facts_of(request_for(context={"objections": objections, **kw.pop("context", {})}, **kw))


def test_an_objection_needs_only_by_and_scope(facts_of, request_for):
    f = facts(facts_of, request_for, [objection(**{"for": "ouder"})])
    assert f["objection.self"] is True  # no given_at: in force


@pytest.mark.parametrize("given_at", ["2026-11-22T10:00:01+01:00", "2026-12-01"])
def test_an_objection_dated_later_is_not_in_force_yet(facts_of, request_for, given_at):
    assert facts(facts_of, request_for, [objection(**{"for": "ouder", "given_at": given_at})])["objection.self"] is False


def test_an_objection_without_for_never_counts_against_a_named_professional(facts_of, request_for):
    for o in (objection(), objection(by="p-2"), objection(scope="gespreksverslag")):
        f = facts(facts_of, request_for, [o], **PROFESSIONAL)
        assert (f["objection.self"], f["objection.gezag"]) == (False, False), o


def test_an_objection_without_for_does_not_lock_out_a_team(facts_of, request_for):
    """No professional of any team or discipline is touched by an objection aimed at no one."""
    for team in ("jgz-0-4", "jgz-4-18", "elders"):
        for discipline in ("jeugdarts", "jeugdverpleegkundige", "doktersassistent"):
            kw = {**PROFESSIONAL, "subject_props": {"discipline": discipline, "team": team}}
            assert facts(facts_of, request_for, [objection()], **kw)["objection.self"] is False


def test_an_objection_without_for_against_research_use_counts_for_research(facts_of, request_for):
    recipient = {"type": "organisation", "id": "umc", "properties": {"kind": "onderzoek"}}
    kw = {**PROFESSIONAL, "action": "disclose", "action_props": {"recipient": recipient}}
    research = objection(scope="research")
    assert facts(facts_of, request_for, [research], context={"purpose": "research"}, **kw)["objection.self"] is True
    assert facts(facts_of, request_for, [research], context={"purpose": "care"}, **kw)["objection.self"] is False
    # research use by a professional is still research use: the objection is against the use, not him
    assert facts(facts_of, request_for, [research], context={"purpose": "research"}, **PROFESSIONAL)[
        "objection.self"] is True


def test_an_objection_without_for_counts_against_persons_and_organisations(facts_of, request_for):
    """Aimed at no one in particular, it still stands against anyone who is not the care team (the
    restrictive side: e.g. a deceased young person's recorded objection against inzage)."""
    assert facts(facts_of, request_for, [objection()])["objection.self"] is True  # a parent reading
    recipient = {"type": "organisation", "id": "s-1", "properties": {"kind": "school"}}
    kw = {**PROFESSIONAL, "action": "disclose", "action_props": {"recipient": recipient}}
    assert facts(facts_of, request_for, [objection()], **kw)["objection.self"] is True


def test_an_objection_with_for_still_counts_against_that_professional(facts_of, request_for):
    for for_ in ("prof-1", "jeugdarts", "professional"):
        assert facts(facts_of, request_for, [objection(**{"for": for_})], **PROFESSIONAL)["objection.self"] is True


def test_form_is_optional_but_a_string(facts_of, request_for):
    assert facts(facts_of, request_for, [objection(form="schriftelijk")])["objection.self"] is True
    with pytest.raises(RequestError) as err:
        facts(facts_of, request_for, [objection(form=["schriftelijk"])])
    assert err.value.path == "context.objections[0].form"


@pytest.mark.parametrize(("field", "value"), [("for", 7), ("for", ""), ("given_at", "gisteren"), ("by", None),
                                              ("scope", None)])
def test_objection_fields_are_still_checked(facts_of, request_for, field, value):
    with pytest.raises(RequestError) as err:
        facts(facts_of, request_for, [objection(**{"for": "ouder", field: value})])
    assert err.value.path == f"context.objections[0].{field}"


def test_consents_still_need_for_and_given_at(facts_of, request_for):
    for missing in ("for", "given_at"):
        consent = {"by": "c-1", "for": "ouder", "scope": "dossier", "given_at": "2026-01-01"}
        consent.pop(missing)
        with pytest.raises(RequestError) as err:
            facts_of(request_for(context={"consents": [consent]}))
        assert err.value.path == f"context.consents[0].{missing}"


@pytest.mark.parametrize(("kind", "fact"), [("organisation", "derde"), ("person", "derde"), ("derde", "derde"),
                                            ("ouder", "ouder"), ("system", "system")])
def test_author_kinds_of_the_contract(facts_of, request_for, kind, fact):
    """organisation and person are accepted; both are a third party's contribution to the dossier."""
    f = facts_of(request_for(resource_props={"author": {"id": "x-1", "kind": kind}}))
    assert f["resource.author_kind"] == fact
