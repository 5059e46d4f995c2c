"""The other derived facts: parties, the resource, the client and the time-dependent ones."""

from __future__ import annotations

import pytest


def test_parent_reading_an_item(facts_of, request_for):
    f = facts_of(request_for(client={"gezaghebbenden": ["p-1"]}))
    assert f["subject.type"] == "person"
    assert f["subject.relation"] == "ouder"
    assert f["subject.gezag"] is True
    assert f["subject.is_gezaghebbende"] is True
    assert f["subject.is_client"] is False
    assert f["subject.discipline"] == "none"
    assert f["recipient.type"] == "none" and f["recipient.is_client"] is False
    assert f["action.name"] == "read" and f["action.setting"] == "none"
    assert f["resource.category"] == "gespreksverslag" and f["resource.dossier_type"] == "jgz"
    assert f["resource.author_kind"] == "professional"
    assert f["context.purpose"] == "care" and f["context.channel"] == "none"
    assert not any(k.startswith("attestation.") for k in f)


def test_client_as_subject(facts_of, request_for):
    f = facts_of(request_for(subject_id="c-1", subject_props={"relation": "self", "gezag": False}))
    assert f["subject.is_client"] is True and f["subject.relation"] == "self"


def test_author_shielded_about(facts_of, request_for):
    f = facts_of(request_for(subject_id="prof-7", resource_props={
        "shielded_from": ["p-3", "prof-7"], "about": {"id": "prof-7", "relation": "ouder"}}))
    assert (f["subject.is_author"], f["subject.shielded"], f["subject.is_about"]) == (True, True, True)
    assert (f["resource.about_other"], f["resource.about_relation"]) == (True, "ouder")
    f = facts_of(request_for(resource_props={"author": {"kind": "ouder"}, "about": {"id": "c-1"}}))
    assert (f["subject.is_author"], f["subject.is_about"], f["resource.about_other"]) == (False, False, False)
    assert f["resource.author_kind"] == "ouder"


@pytest.mark.parametrize(("client", "deceased"), [
    ({}, False),
    ({"deceased": True}, True),
    ({"date_of_death": "2026-11-22"}, True),   # on the decision date
    ({"date_of_death": "2026-11-23"}, False),  # a date of death after context.time: not yet
    ({"date_of_death": "2020-01-01"}, True),
])
def test_deceased(facts_of, request_for, client, deceased):
    assert facts_of(request_for(client=client))["client.deceased"] is deceased


@pytest.mark.parametrize(("last_change", "years"), [
    (None, -1),
    ("2006-11-22", 20),
    ("2006-11-23", 19),
    ("2030-01-01", 0),  # a change after context.time counts as no time passed
])
def test_years_since_last_change(facts_of, request_for, last_change, years):
    f = facts_of(request_for(resource_props={"last_change": last_change}))
    assert f["resource.years_since_last_change"] == years
    assert f["resource.years_since_treatment_end"] == -1


@pytest.mark.parametrize(("props", "years"), [
    ({}, -1),
    ({"created_at": "2021-11-22"}, 5),
    ({"written_at": "2025-10-01T09:30:00+02:00"}, 1),  # a date-time: its date as written
    ({"created_at": "2010-01-01", "written_at": "2025-10-01"}, 1),  # the log line's own writing wins
])
def test_years_since_created_counts_from_the_line_itself(facts_of, request_for, props, years):
    """Issue 11: a log line is kept five years from its own writing (Besluit vaststelling bewaartermijn
    logging), whatever the dossier's last change."""
    f = facts_of(request_for(resource_props={"last_change": "2006-11-22", **props}))
    assert f["resource.years_since_created"] == years
    assert f["resource.years_since_last_change"] == 20


def test_measures_and_wilsonbekwaam(facts_of, request_for):
    f = facts_of(request_for(client={"measures": ["ots", "uithuisplaatsing"], "wilsonbekwaam": True}))
    assert f["client.measure.ots"] and f["client.measure.uithuisplaatsing"]
    assert not f["client.measure.voogdij"] and not f["client.measure.jeugdreclassering"]
    assert f["client.wilsonbekwaam"] is True


def test_attestations_are_present_or_absent(facts_of, request_for):
    f = facts_of(request_for(context={"attestations": [{"kind": "emergency", "by": "prof-1"},
                                                       {"kind": "court_order"}]}))
    assert f["attestation.emergency"] is True and f["attestation.court_order"] is True
    assert "attestation.meldrecht" not in f


def test_disclosure_recipient(facts_of, request_for):
    recipient = {"type": "organisation", "id": "vt-1", "properties": {"kind": "veilig_thuis", "in_care": True}}
    f = facts_of(request_for(subject_type="professional", subject_id="prof-1",
                             subject_props={"discipline": "jeugdarts", "treatment_relation": True, "team": "jgz-4-18"},
                             action="disclose", action_props={"recipient": recipient,
                                                              "transfer": {"reason": "verhuizing",
                                                                           "new_school_known": True}}))
    assert (f["recipient.type"], f["recipient.kind"], f["recipient.in_care"]) == ("organisation", "veilig_thuis", True)
    assert (f["subject.discipline"], f["subject.treatment_relation"], f["subject.team"]) == ("jeugdarts", True, "jgz-4-18")
    assert (f["action.transfer_reason"], f["action.new_school_known"]) == ("verhuizing", True)


def test_every_youth_care_fact_is_derived(facts_of, request_for):
    """Rules may name any vocabulary fact; every non-sparse one must be present in the facts."""
    from poortwachter.core.vocabulary import YOUTH_CARE

    f = facts_of(request_for())
    expected = {n for n in YOUTH_CARE.facts if not n.startswith("attestation.")}
    assert expected <= set(f)
    for name, spec in YOUTH_CARE.facts.items():
        if name in f:
            value = f[name]
            if spec.kind == "bool":
                assert isinstance(value, bool), name
            elif spec.kind == "int":
                assert isinstance(value, int) and not isinstance(value, bool), name
            elif spec.kind == "enum":
                assert value in spec.values, name


def test_a_birthdate_written_as_date_time_counts_as_its_date(facts_of, request_for):
    f = facts_of(request_for(birthdate="2014-11-22T23:30:00-05:00", time="2026-11-22T10:00:00+01:00"))
    assert f["client.age"] == 12
