"""What a caller sends cannot break the core (issue 17): far dates are a 400, not an OverflowError;
dates are written exactly YYYY-MM-DD (date-times in the extended ISO form); a consent cannot predate
the client; and every list and string the core reads is bounded, with the limit named in the error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from poortwachter.core import readers as rq
from poortwachter.core.errors import RequestError

FAR = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "9999-12-31", "0001-01-01", "1899-12-31T23:59:59+01:00",
       "2201-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"]


def error_of(facts_of, request: dict[str, Any]) -> RequestError:
    with pytest.raises(RequestError) as err:
        facts_of(request)
    return err.value


def consent(**over: Any) -> dict[str, Any]:
    return {"by": "c-1", "for": "ouder", "scope": "dossier", "given_at": "2026-01-01", **over}


# ------------------------------------------------------------------------------- far dates


@pytest.mark.parametrize("time", FAR)
def test_a_far_context_time_is_a_request_error(facts_of, request_for, time):
    e = error_of(facts_of, request_for(time=time, birthdate="1900-01-01"))
    assert e.path == "context.time"
    assert "1900" in e.expected and "2200" in e.expected


@pytest.mark.parametrize("where", ["given_at", "withdrawn_at"])
@pytest.mark.parametrize("value", FAR)
def test_far_consent_times_are_request_errors(facts_of, request_for, where, value):
    e = error_of(facts_of, request_for(context={"consents": [consent(**{where: value})]}))
    assert e.path == f"context.consents[0].{where}" and "1900" in e.expected


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01"])
@pytest.mark.parametrize("field", ["birthdate", "date_of_death"])
def test_far_client_dates_are_request_errors(facts_of, request_for, field, value):
    e = error_of(facts_of, request_for(client={field: value}))
    assert e.path == f"resource.properties.client.{field}" and "2200" in e.expected


@pytest.mark.parametrize("field", ["last_change", "treatment_end"])
def test_far_retention_dates_are_request_errors(facts_of, request_for, field):
    e = error_of(facts_of, request_for(resource_props={field: "9999-12-31"}))
    assert e.path == f"resource.properties.{field}"


def test_the_edges_of_the_range_are_accepted(facts_of, request_for):
    f = facts_of(request_for(birthdate="1900-01-01", time="2200-12-31T12:00:00+01:00",
                             client={"date_of_death": "2200-12-31"},
                             context={"consents": [consent(given_at="1900-01-01",
                                                           withdrawn_at="2200-12-31T23:59:59-14:00")]}))
    assert (f["client.age"], f["consent.self"], f["client.deceased"]) == (300, True, True)


# ------------------------------------------------------------------------------- date forms


@pytest.mark.parametrize("birthdate", ["2016-W22-1", "2016W221", "20160530", "2016-5-30", "2016-05-3",
                                       "2016-05-30 ", " 2016-05-30", "２０１６-05-30", "2016-05-30T25:00:00",
                                       "2016-05-30T10", "2016-05-30 10:00:00", "20160530T100000"])
def test_a_date_is_written_exactly_yyyy_mm_dd(facts_of, request_for, birthdate):
    e = error_of(facts_of, request_for(birthdate=birthdate))
    assert e.path == "resource.properties.client.birthdate" and "YYYY-MM-DD" in e.expected


@pytest.mark.parametrize("time", ["2026-W47-7T10:00:00+01:00", "20261122T100000+0100", "2026-11-22 10:00:00+01:00",
                                  "2026-11-22T10+01:00", "2026-11-22T1000", "2026-11-22T10:00:00+0100",
                                  "2026-11-22T10:00:00.+01:00", "2026-W47-7", "20261122", "2026-11-22T10:00:00+01",
                                  "2026-11-22T10:00:00,5+01:00", "2026-11-22x10:00", "2026-11-22T10:00:00.1234567890Z",
                                  "2026-11-22T10:00:00+01:00:30", "2026-11-22t10:00:00z", "2026-11-22T10:00+0100",
                                  "2026-11-22T10:00:00Z+01:00", "2026-11-22T1０:00:00+01:00", "2026-11-22T10:00\ud800"])
def test_a_date_time_is_the_extended_iso_form(facts_of, request_for, time):
    e = error_of(facts_of, request_for(time=time))
    assert e.path == "context.time"


@pytest.mark.parametrize("time", ["2026-11-22T10:00:00+01:00", "2026-11-22T09:00:00Z", "2026-11-22T10:00",
                                  "2026-11-22T10:00:00", "2026-11-22T10:00:00.123456+01:00", "2026-11-22",
                                  "2026-11-22T10:00:00.5-05:00", "2026-11-22T09:00:00.123456789Z", "2026-11-22T10:00+01:00"])
def test_the_extended_forms_are_accepted(facts_of, request_for, time):
    assert facts_of(request_for(time=time))["client.age"] == 12


def test_a_date_field_may_hold_a_date_time_of_the_extended_form(facts_of, request_for):
    assert facts_of(request_for(birthdate="2014-05-30T08:00:00+02:00"))["client.age"] == 12


# ------------------------------------------------------------------------------- consents before birth


@pytest.mark.parametrize("given_at", ["2014-05-29", "2014-05-29T23:59:59+02:00", "2014-05-29T21:59:59Z", "2000-01-01"])
def test_a_consent_dated_before_the_clients_birth_is_a_request_error(facts_of, request_for, given_at):
    req = request_for(birthdate="2014-05-30", context={"consents": [consent(), consent(given_at=given_at)]})
    e = error_of(facts_of, req)
    assert e.path == "context.consents[1].given_at"
    assert "birth" in e.expected and "2014-05-30" in e.expected


@pytest.mark.parametrize("given_at", ["2014-05-30", "2014-05-29T22:00:00Z", "2014-05-30T00:00:00+02:00"])
def test_a_consent_from_the_day_of_birth_counts(facts_of, request_for, given_at):
    f = facts_of(request_for(birthdate="2014-05-30", client={"gezaghebbenden": ["p-2"]},
                             context={"consents": [consent(by="p-2", given_at=given_at)]}))
    assert f["consent.gezag"] is True


# ------------------------------------------------------------------------------- bounds


def _many(n: int, make: Callable[[int], Any]) -> list[Any]:
    return [make(i) for i in range(n)]


LISTS: list[tuple[str, int, Callable[[dict[str, Any], list[Any]], None], Callable[[int], Any]]] = [
    ("context.consents", rq.MAX_CONSENTS, lambda r, xs: r["context"].update(consents=xs),
     lambda i: consent(by=f"p-{i}")),
    ("context.objections", rq.MAX_OBJECTIONS, lambda r, xs: r["context"].update(objections=xs),
     lambda i: {"by": f"p-{i}", "scope": "research"}),
    ("context.attestations", rq.MAX_ATTESTATIONS, lambda r, xs: r["context"].update(attestations=xs),
     lambda i: {"kind": "emergency", "by": f"prof-{i}"}),
    ("resource.properties.shielded_from", rq.MAX_SHIELDED_FROM,
     lambda r, xs: r["resource"]["properties"].update(shielded_from=xs), lambda i: f"p-{i}"),
    ("resource.properties.client.gezaghebbenden", rq.MAX_GEZAGHEBBENDEN,
     lambda r, xs: r["resource"]["properties"]["client"].update(gezaghebbenden=xs), lambda i: f"p-{i}"),
    ("resource.properties.client.measures", rq.MAX_MEASURES,
     lambda r, xs: r["resource"]["properties"]["client"].update(measures=xs), lambda i: "ots"),
]


@pytest.mark.parametrize(("path", "limit", "put", "make"), LISTS, ids=[x[0] for x in LISTS])
def test_lists_are_bounded(facts_of, request_for, path, limit, put, make):
    at_limit = request_for()
    put(at_limit, _many(limit, make))
    facts_of(at_limit)
    over = request_for()
    put(over, _many(limit + 1, make))
    e = error_of(facts_of, over)
    assert e.path == path
    assert e.expected.startswith(f"at most {limit} ")
    assert e.got == f"{limit + 1} items"


def test_the_limits_are_generous_for_real_dossiers():
    assert rq.MAX_CONSENTS >= 256 and rq.MAX_OBJECTIONS >= 64 and rq.MAX_TEXT >= 1024
    assert min(rq.MAX_ATTESTATIONS, rq.MAX_SHIELDED_FROM, rq.MAX_GEZAGHEBBENDEN, rq.MAX_MEASURES) >= 16


LONG = "x" * (rq.MAX_TEXT + 1)
STRINGS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("subject.id", lambda r: r["subject"].update(id=LONG)),
    ("resource.id", lambda r: r["resource"].update(id=LONG)),
    ("resource.properties.client.id", lambda r: r["resource"]["properties"]["client"].update(id=LONG)),
    ("resource.properties.author.id", lambda r: r["resource"]["properties"]["author"].update(id=LONG)),
    ("resource.properties.about.id", lambda r: r["resource"]["properties"].update(about={"id": LONG})),
    ("subject.properties.team", lambda r: r["subject"].update(type="professional", properties={"team": LONG})),
    ("context.channel", lambda r: r["context"].update(channel=LONG)),
    ("action.properties.setting", lambda r: r["action"].update(properties={"setting": LONG})),
    ("action.properties.processing_activity_id",
     lambda r: r["action"].update(properties={"processing_activity_id": LONG})),
    ("action.properties.transfer.reason", lambda r: r["action"].update(properties={"transfer": {"reason": LONG}})),
    ("action.properties.recipient.id",
     lambda r: r["action"].update(name="disclose", properties={"recipient": {"type": "person", "id": LONG}})),
    ("context.consents[0].by", lambda r: r["context"].update(consents=[consent(by=LONG)])),
    ("context.consents[0].for", lambda r: r["context"].update(consents=[consent(**{"for": LONG})])),
    ("context.objections[0].by", lambda r: r["context"].update(objections=[{"by": LONG, "scope": "dossier"}])),
    ("context.attestations[0].by", lambda r: r["context"].update(attestations=[{"kind": "emergency", "by": LONG}])),
    ("resource.properties.shielded_from[1]", lambda r: r["resource"]["properties"].update(shielded_from=["p", LONG])),
    ("resource.properties.client.gezaghebbenden[0]",
     lambda r: r["resource"]["properties"]["client"].update(gezaghebbenden=[LONG])),
]


@pytest.mark.parametrize(("path", "put"), STRINGS, ids=[x[0] for x in STRINGS])
def test_strings_are_bounded(facts_of, request_for, path, put):
    request = request_for()
    put(request)
    e = error_of(facts_of, request)
    assert e.path == path
    assert f"at most {rq.MAX_TEXT} characters" in e.expected
    assert e.got == f"a string of {rq.MAX_TEXT + 1} characters"


def test_a_string_at_the_limit_is_accepted(facts_of, request_for):
    ident = "p" * rq.MAX_TEXT
    f = facts_of(request_for(subject_id=ident, client={"gezaghebbenden": [ident]}))
    assert f["subject.is_gezaghebbende"] is True


@pytest.mark.parametrize("by", [["prof-1"], {"id": "prof-1"}, 7, "", [[["prof-1"]]]])
def test_the_attester_is_a_string(facts_of, request_for, by):
    e = error_of(facts_of, request_for(context={"attestations": [{"kind": "emergency", "by": by}]}))
    assert e.path == "context.attestations[0].by"


def test_an_error_about_a_huge_value_stays_short(facts_of, request_for):
    e = error_of(facts_of, request_for(resource_props={"shielded_from": [1] * 100_000}))
    assert len(e.got) <= 80
