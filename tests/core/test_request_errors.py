"""Every class of request error of core/request.py, readers.py and youth_care.py: the error names the
field's path, what was expected and what came. Unknown values of known fields are rejected, never guessed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from poortwachter.core.errors import RequestError

Mutation = Callable[[dict[str, Any]], None]


def props(req: dict[str, Any]) -> dict[str, Any]:
    return req["resource"]["properties"]


def ctx(req: dict[str, Any]) -> dict[str, Any]:
    return req["context"]


def consent(**over: Any) -> dict[str, Any]:
    return {"by": "c-1", "for": "ouder", "scope": "dossier", "given_at": "2026-01-01", **over}


def disclose(req: dict[str, Any], recipient: Any) -> None:
    req["action"] = {"name": "disclose", "properties": {"recipient": recipient}}


CASES: list[tuple[str, Mutation, str, str, str]] = [
    # (case id, mutation, path, part of `expected`, got)
    # --- the envelope
    ("subject missing", lambda r: r.pop("subject"), "subject", "an object", "nothing"),
    ("subject not an object", lambda r: r.update(subject="alice"), "subject", "an object", "'alice'"),
    ("subject.id missing", lambda r: r["subject"].pop("id"), "subject.id", "a non-empty string", "nothing"),
    ("subject.id wrong type", lambda r: r["subject"].update(id=7), "subject.id", "a non-empty string", "7"),
    ("subject.id empty", lambda r: r["subject"].update(id=""), "subject.id", "a non-empty string", "''"),
    ("subject.type missing", lambda r: r["subject"].pop("type"), "subject.type", "a non-empty string", "nothing"),
    ("subject.properties not an object", lambda r: r["subject"].update(properties=[]),
     "subject.properties", "an object", "[]"),
    ("action missing", lambda r: r.pop("action"), "action", "an object", "nothing"),
    ("action.name missing", lambda r: r.update(action={}), "action.name", "a non-empty string", "nothing"),
    ("action.name wrong type", lambda r: r.update(action={"name": ["read"]}), "action.name",
     "a non-empty string", "['read']"),
    ("resource missing", lambda r: r.pop("resource"), "resource", "an object", "nothing"),
    ("resource.id missing", lambda r: r["resource"].pop("id"), "resource.id", "a non-empty string", "nothing"),
    ("context not an object", lambda r: r.update(context="now"), "context", "an object", "'now'"),
    ("context.time bad", lambda r: ctx(r).update(time="22-11-2026 10:00"), "context.time",
     "an ISO 8601 date-time", "'22-11-2026 10:00'"),
    ("context.time impossible date", lambda r: ctx(r).update(time="2026-02-30T10:00:00+01:00"), "context.time",
     "an ISO 8601 date-time", "'2026-02-30T10:00:00+01:00'"),
    ("context.time wrong type", lambda r: ctx(r).update(time=1764000000), "context.time",
     "an ISO 8601 date-time", "1764000000"),
    # --- unknown values of closed sets
    ("unknown subject type", lambda r: r["subject"].update(type="robot"), "subject.type", "one of person", "'robot'"),
    ("unknown action", lambda r: r.update(action={"name": "delete"}), "action.name", "one of read, copy", "'delete'"),
    ("unknown resource type", lambda r: r["resource"].update(type="file"), "resource.type",
     "one of dossier_item, dossier", "'file'"),
    ("unknown relation", lambda r: r["subject"]["properties"].update(relation="oom"), "subject.properties.relation",
     "one of self, ouder", "'oom'"),
    ("unknown discipline", lambda r: r["subject"].update(type="professional", properties={"discipline": "chirurg"}),
     "subject.properties.discipline", "one of jeugdarts", "'chirurg'"),
    ("unknown organisation kind", lambda r: r["subject"].update(type="organisation", properties={"kind": "bank"}),
     "subject.properties.kind", "one of veilig_thuis", "'bank'"),
    ("unknown category", lambda r: props(r).update(category="medisch_geheim"), "resource.properties.category",
     "one of personalia", "'medisch_geheim'"),
    ("category missing on an item", lambda r: props(r).pop("category"), "resource.properties.category",
     "a non-empty string", "nothing"),
    ("unknown dossier_type", lambda r: props(r).update(dossier_type="ggz"), "resource.properties.dossier_type",
     "one of jgz, jeugdhulp", "'ggz'"),
    ("dossier_type missing", lambda r: props(r).pop("dossier_type"), "resource.properties.dossier_type",
     "a non-empty string", "nothing"),
    ("unknown author kind", lambda r: props(r).update(author={"id": "x", "kind": "robot"}),
     "resource.properties.author.kind", "one of professional", "'robot'"),
    ("unknown about relation", lambda r: props(r).update(about={"id": "x", "relation": "buurman"}),
     "resource.properties.about.relation", "one of self", "'buurman'"),
    ("unknown measure", lambda r: props(r)["client"].update(measures=["ots", "curatele"]),
     "resource.properties.client.measures", "measures from ots", "'curatele'"),
    ("unknown purpose", lambda r: ctx(r).update(purpose="marketing"), "context.purpose", "one of care",
     "'marketing'"),
    ("unknown authn_level", lambda r: ctx(r).update(authn_level="midden"), "context.authn_level", "one of laag",
     "'midden'"),
    ("unknown attestation", lambda r: ctx(r).update(attestations=[{"kind": "gut_feeling", "by": "prof-1"}]),
     "context.attestations[0].kind", "one of emergency", "'gut_feeling'"),
    ("attestation kind missing", lambda r: ctx(r).update(attestations=[{"by": "prof-1"}]),
     "context.attestations[0].kind", "a non-empty string", "nothing"),
    ("attestations not a list", lambda r: ctx(r).update(attestations={"kind": "emergency"}),
     "context.attestations", "a list of objects", "{'kind': 'emergency'}"),
    ("attestation not an object", lambda r: ctx(r).update(attestations=["emergency"]),
     "context.attestations[0]", "an object", "'emergency'"),
    # --- wrong types of known fields
    ("gezag not a bool", lambda r: r["subject"]["properties"].update(gezag="yes"), "subject.properties.gezag",
     "true or false", "'yes'"),
    ("identity_verified not a bool", lambda r: r["subject"]["properties"].update(identity_verified=1),
     "subject.properties.identity_verified", "true or false", "1"),
    ("treatment_relation not a bool",
     lambda r: r["subject"].update(type="professional", properties={"treatment_relation": "true"}),
     "subject.properties.treatment_relation", "true or false", "'true'"),
    ("confidential_from_parents not a bool", lambda r: props(r).update(confidential_from_parents="no"),
     "resource.properties.confidential_from_parents", "true or false", "'no'"),
    ("shielded_from not a list", lambda r: props(r).update(shielded_from="p-1"), "resource.properties.shielded_from",
     "a list of strings", "'p-1'"),
    ("shielded_from holds a number", lambda r: props(r).update(shielded_from=[1]),
     "resource.properties.shielded_from", "a list of strings", "[1]"),
    ("gezaghebbenden not a list", lambda r: props(r)["client"].update(gezaghebbenden="p-1"),
     "resource.properties.client.gezaghebbenden", "a list of strings", "'p-1'"),
    ("measures not a list", lambda r: props(r)["client"].update(measures="ots"),
     "resource.properties.client.measures", "a list of strings", "'ots'"),
    ("deceased not a bool", lambda r: props(r)["client"].update(deceased="no"),
     "resource.properties.client.deceased", "true or false", "'no'"),
    ("author not an object", lambda r: props(r).update(author="prof-7"), "resource.properties.author",
     "an object", "'prof-7'"),
    ("resource.properties not an object", lambda r: r["resource"].update(properties="jgz"),
     "resource.properties", "an object", "'jgz'"),
    ("channel wrong type", lambda r: ctx(r).update(channel=3), "context.channel", "a non-empty string", "3"),
    # --- the client and dates
    ("client missing", lambda r: props(r).pop("client"), "resource.properties.client", "an object", "nothing"),
    ("client.id missing", lambda r: props(r)["client"].pop("id"), "resource.properties.client.id",
     "a non-empty string", "nothing"),
    ("birthdate missing", lambda r: props(r)["client"].pop("birthdate"), "resource.properties.client.birthdate",
     "an ISO date", "nothing"),
    ("birthdate not ISO", lambda r: props(r)["client"].update(birthdate="30-05-2014"),
     "resource.properties.client.birthdate", "an ISO date", "'30-05-2014'"),
    ("birthdate impossible", lambda r: props(r)["client"].update(birthdate="2014-02-30"),
     "resource.properties.client.birthdate", "an ISO date", "'2014-02-30'"),
    ("birthdate 29 Feb of a common year", lambda r: props(r)["client"].update(birthdate="2013-02-29"),
     "resource.properties.client.birthdate", "an ISO date", "'2013-02-29'"),
    ("birthdate a number", lambda r: props(r)["client"].update(birthdate=20140530),
     "resource.properties.client.birthdate", "an ISO date", "20140530"),
    ("birthdate after context.time", lambda r: props(r)["client"].update(birthdate="2027-01-01"),
     "resource.properties.client.birthdate", "on or before", "'2027-01-01'"),
    ("birthdate date-time with garbage", lambda r: props(r)["client"].update(birthdate="2014-05-30Tgarbage"),
     "resource.properties.client.birthdate", "an ISO date", "'2014-05-30Tgarbage'"),
    ("date_of_death bad", lambda r: props(r)["client"].update(date_of_death="gisteren"),
     "resource.properties.client.date_of_death", "an ISO date", "'gisteren'"),
    ("last_change bad", lambda r: props(r).update(last_change="2020/01/01"), "resource.properties.last_change",
     "an ISO date", "'2020/01/01'"),
    ("treatment_end bad", lambda r: props(r).update(treatment_end=2020), "resource.properties.treatment_end",
     "an ISO date", "2020"),
    # --- disclosures
    ("disclose without recipient", lambda r: r.update(action={"name": "disclose"}), "action.properties.recipient",
     "the recipient", "nothing"),
    ("recipient not an object", lambda r: disclose(r, "school"), "action.properties.recipient", "an object",
     "'school'"),
    ("recipient type unknown", lambda r: disclose(r, {"type": "school", "id": "s-1"}),
     "action.properties.recipient.type", "one of person", "'school'"),
    ("recipient id missing", lambda r: disclose(r, {"type": "organisation"}), "action.properties.recipient.id",
     "a non-empty string", "nothing"),
    ("recipient kind unknown", lambda r: disclose(r, {"type": "organisation", "id": "o", "properties": {"kind": "bank"}}),
     "action.properties.recipient.properties.kind", "one of veilig_thuis", "'bank'"),
    ("recipient in_care not a bool",
     lambda r: disclose(r, {"type": "organisation", "id": "o", "properties": {"in_care": "ja"}}),
     "action.properties.recipient.properties.in_care", "true or false", "'ja'"),
    ("transfer not an object", lambda r: r.update(action={"name": "read", "properties": {"transfer": "verhuizing"}}),
     "action.properties.transfer", "an object", "'verhuizing'"),
    # --- consents and objections
    ("consents not a list", lambda r: ctx(r).update(consents=consent()), "context.consents", "a list of objects",
     None),
    ("consent not an object", lambda r: ctx(r).update(consents=["c-1"]), "context.consents[0]", "an object",
     "'c-1'"),
    ("consent by missing", lambda r: ctx(r).update(consents=[consent(by=None)]), "context.consents[0].by",
     "a non-empty string", "nothing"),
    ("consent for missing", lambda r: ctx(r).update(consents=[{"by": "c-1", "scope": "dossier",
                                                             "given_at": "2026-01-01"}]),
     "context.consents[0].for", "a non-empty string", "nothing"),
    ("consent scope missing", lambda r: ctx(r).update(consents=[consent(scope=None)]), "context.consents[0].scope",
     "a non-empty string", "nothing"),
    ("consent scope unknown", lambda r: ctx(r).update(consents=[consent(scope="medsich")]),
     "context.consents[0].scope", "dossier, research", "'medsich'"),
    ("consent given_at missing", lambda r: ctx(r).update(consents=[consent(given_at=None)]),
     "context.consents[0].given_at", "an ISO 8601 date-time", "nothing"),
    ("consent given_at bad", lambda r: ctx(r).update(consents=[consent(given_at="gisteren")]),
     "context.consents[0].given_at", "an ISO 8601 date-time", "'gisteren'"),
    ("consent withdrawn_at bad", lambda r: ctx(r).update(consents=[consent(withdrawn_at="2026-13-01")]),
     "context.consents[0].withdrawn_at", "an ISO 8601 date-time", "'2026-13-01'"),
    ("second consent by wrong type", lambda r: ctx(r).update(consents=[consent(), consent(by=5)]),
     "context.consents[1].by", "a non-empty string", "5"),
    ("objections not a list", lambda r: ctx(r).update(objections="yes"), "context.objections",
     "a list of objects", "'yes'"),
    ("objection scope unknown", lambda r: ctx(r).update(objections=[consent(scope="alles")]),
     "context.objections[0].scope", "dossier, research", "'alles'"),
    ("objection scope missing", lambda r: ctx(r).update(objections=[consent(scope=None)]),
     "context.objections[0].scope", "a non-empty string", "nothing"),
    ("objection given_at bad", lambda r: ctx(r).update(objections=[consent(given_at="gisteren")]),
     "context.objections[0].given_at", "an ISO 8601 date-time", "'gisteren'"),
]


@pytest.mark.parametrize(("mutate", "path", "expected", "got"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_request_error(facts_of, request_for, mutate, path, expected, got):
    request = request_for()
    mutate(request)
    with pytest.raises(RequestError) as err:
        facts_of(request)
    assert err.value.path == path
    assert expected in err.value.expected
    if got is not None:
        assert err.value.got == got
    assert str(err.value).startswith(f"{path}: expected ")


def test_request_must_be_an_object(facts_of):
    with pytest.raises(RequestError) as err:
        facts_of(["subject", "action"])  # type: ignore[arg-type]
    assert (err.value.path, err.value.expected) == ("request", "an object")


def test_long_values_are_shortened_in_the_error(facts_of, request_for):
    request = request_for(category="x" * 500)
    with pytest.raises(RequestError) as err:
        facts_of(request)
    assert len(err.value.got) <= 80 and err.value.got.endswith("...")


@pytest.mark.parametrize(("mutate", "fact", "value"), [
    (lambda r: r["subject"].update(type="professional", properties={"team": "jgz-12-18"}), "subject.team", "other"),
    (lambda r: r["subject"].update(type="professional", properties={"team": "jgz-0-4"}), "subject.team", "jgz-0-4"),
    (lambda r: r["action"].update(properties={"setting": "koffie"}), "action.setting", "other"),
    (lambda r: r["action"].update(properties={"transfer": {"reason": "emigratie"}}), "action.transfer_reason", "other"),
    (lambda r: ctx(r).update(channel="whatsapp"), "context.channel", "other"),
])
def test_open_ended_fields_map_unknown_names_to_other(facts_of, request_for, mutate, fact, value):
    """team, setting, transfer reason and channel are documented as open: unknown names become `other`."""
    request = request_for()
    mutate(request)
    assert facts_of(request)[fact] == value


def test_unknown_fields_are_ignored(facts_of, request_for):
    """AuthZEN forward compatibility: unknown keys anywhere are ignored."""
    request = request_for()
    request["extra"] = {"x": 1}
    request["subject"]["properties"]["favourite_colour"] = "blue"
    props(request)["whatever"] = [1, 2]
    ctx(request)["traceparent"] = "00-abc-def-01"
    assert facts_of(request)["subject.relation"] == "ouder"


def test_null_optional_fields_read_as_absent(facts_of, request_for):
    request = request_for(subject_props={"gezag": None, "relation": None}, resource_props={"shielded_from": None})
    ctx(request).update(consents=None, purpose=None)
    facts = facts_of(request)
    assert (facts["subject.gezag"], facts["subject.relation"], facts["context.purpose"]) == (False, "none", "none")


def test_whole_dossier_needs_no_category(facts_of, request_for):
    facts = facts_of(request_for(resource_type="dossier", category=None))
    assert (facts["resource.type"], facts["resource.category"]) == ("dossier", "none")
