"""AuthZEN Authorization API 1.0 over the youth-care fixture: evaluation, batches, errors, headers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from poortwachter.core.calendar import AMSTERDAM

from .conftest import Harness, yc_request


def test_single_evaluation_allows_with_reasons_obligations_and_bundle(harness: Harness) -> None:
    r = harness.post("/access/v1/evaluation", yc_request())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["decision"] is True
    ctx = body["context"]
    assert ctx["decision_id"]
    assert ctx["bundle"]["name"] == "svc-jgz" and ctx["bundle"]["version"] == "2026.1.0"
    assert ctx["bundle"]["revision"].startswith("sha256:")
    assert [x["rule"] for x in ctx["reasons"]] == ["parent-gezag-under-12"]
    assert ctx["reasons"][0]["basis"] == ["BW 7:465 lid 1"]
    assert ctx["obligations"] == [{"id": "log_access", "type": "custom", "properties": {"text": {
        "nl": "Leg deze toegang vast in het logbestand (NEN 7513).",
        "en": "Record this access in the access log (NEN 7513)."}}}]


def test_deny_is_200_false_with_missing_facts(harness: Harness) -> None:
    r = harness.post("/access/v1/evaluation", yc_request(birthdate="2009-01-01"))  # 17, no consent
    assert r.status_code == 200
    body = r.json()
    assert body["decision"] is False
    assert body["context"]["reasons"][0]["rule"] == "default-deny"
    assert {"fact": "consent", "from": "self", "path": "consent.self"}.items() <= body["context"]["missing"][0].items()


def test_deny_rule_names_every_applicable_deny(harness: Harness) -> None:
    req = yc_request(action="copy", category="ruwe_testgegevens", resource_props={"shielded_from": ["p-1"]})
    body = harness.post("/access/v1/evaluation", req).json()
    assert body["decision"] is False
    assert [x["rule"] for x in body["context"]["reasons"]] == ["no-copy-raw-test-data", "shielded"]


def test_context_bundle_picks_a_version_and_time_picks_the_version_in_force(harness: Harness) -> None:
    req = yc_request(birthdate="2013-01-01")  # 13: parents of 12-15 only in the 2026 version
    assert harness.post("/access/v1/evaluation", req).json()["decision"] is True
    old = yc_request(birthdate="2012-01-01", time="2025-06-01T10:00:00+02:00")  # 13 in 2025
    body = harness.post("/access/v1/evaluation", old).json()
    assert body["decision"] is False and body["context"]["bundle"]["version"] == "2025.1.0"
    pinned = yc_request(birthdate="2013-01-01", context={"bundle": "svc-jgz@2025.1.0"})
    assert harness.post("/access/v1/evaluation", pinned).json()["context"]["bundle"]["version"] == "2025.1.0"


def test_unknown_bundle_is_a_400_naming_context_bundle(harness: Harness) -> None:
    r = harness.post("/access/v1/evaluation", yc_request(context={"bundle": "nope"}))
    assert r.status_code == 400
    problem = r.json()
    assert problem["errors"][0]["field"] == "context.bundle"
    assert problem["errors"][0]["expected"].startswith("one of the bundles loaded (")
    assert problem["detail"].endswith(", got 'nope'")


@pytest.mark.parametrize("path, body", [
    ("/access/v1/evaluation", yc_request()),
    ("/access/v1/evaluations", {"evaluations": [yc_request(), yc_request(gezag=False)]}),
    ("/v1/decisions", yc_request()),
])
def test_with_no_bundle_loaded_a_decision_is_503_not_the_callers_fault(
        make_harness: Any, tmp_path: Path, path: str, body: Any) -> None:
    """A worker that has no bundle (starting, or every file refused) cannot decide: a retryable 503 that says
    so, never a 400 telling the caller its bundle name is wrong (a worker started before its first set
    answered ``expected one of the bundles loaded (none), got 'svc-jgz'``; tests/distribution/test_start.py)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with make_harness(bundles=empty) as h:
        r = h.post(path, body)
        ready = h.client.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "1"
    problem = r.json()
    assert problem["type"].endswith("/no-bundle-loaded") and "no policy bundle is loaded" in problem["detail"]
    assert ready.status_code == 503


@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.pop("subject"), "subject"),
    (lambda r: r["subject"].pop("id"), "subject.id"),
    (lambda r: r["action"].update(name="peek"), "action.name"),
    (lambda r: r["subject"]["properties"].update(relation="buurman"), "subject.properties.relation"),
    (lambda r: r["resource"]["properties"].update(category="dagboek"), "resource.properties.category"),
    (lambda r: r["resource"]["properties"]["client"].update(birthdate="30-05-2016"),
     "resource.properties.client.birthdate"),
    (lambda r: r["context"].update(consents=[{"by": "c-1"}]), "context.consents[0].given_at"),
    (lambda r: r["context"].update(time="yesterday"), "context.time"),
])
def test_invalid_request_is_a_problem_document_naming_the_field(harness: Harness, mutate: Any, field: str) -> None:
    req = yc_request()
    mutate(req)
    r = harness.post("/access/v1/evaluation", req)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    assert problem["type"].endswith("/invalid-request")
    assert problem["errors"][0]["field"] == field
    assert problem["errors"][0]["pointer"] == "/" + field.replace(".", "/").replace("[", "/").replace("]", "")
    assert field in problem["detail"]


def test_unknown_fields_are_ignored(harness: Harness) -> None:
    req = yc_request(subject_props={"favourite_colour": "blue"})
    req["future"] = {"nested": True}
    assert harness.post("/access/v1/evaluation", req).json()["decision"] is True


@pytest.mark.parametrize("content, ctype, status, kind", [
    (b"", "application/json", 400, "empty-body"),
    (b"{nope", "application/json", 400, "malformed-json"),
    (b"[1, 2]", "application/json", 400, "invalid-request"),
    (b'{"subject": "alice"}', "application/json", 400, "invalid-request"),
    (b"subject=alice", "application/x-www-form-urlencoded", 400, "unsupported-media-type"),
    (b"{}", "text/plain", 400, "unsupported-media-type"),
])
def test_whole_payload_errors(harness: Harness, content: bytes, ctype: str, status: int, kind: str) -> None:
    r = harness.client.post("/access/v1/evaluation", content=content, headers={"Content-Type": ctype})
    assert r.status_code == status
    assert r.json()["type"].endswith("/" + kind)


def test_media_type_with_charset_is_accepted(harness: Harness) -> None:
    import orjson

    r = harness.client.post("/access/v1/evaluation", content=orjson.dumps(yc_request()),
                            headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_body_size_limit_is_413(make_harness: Any) -> None:
    with make_harness(max_body_bytes=2048) as h:
        req = yc_request(subject_props={"padding": "x" * 4000})
        r = h.post("/access/v1/evaluation", req)
        assert r.status_code == 413
        assert r.json()["errors"][0]["field"] == "request"

        def chunks() -> Any:  # no Content-Length: counted while streaming
            yield b'{"pad": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        r = h.client.post("/access/v1/evaluation", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413


def test_x_request_id_is_echoed_and_generated_when_absent(harness: Harness) -> None:
    r = harness.post("/access/v1/evaluation", yc_request(), headers={"X-Request-ID": "bfe9eb29-ab87"})
    assert r.headers["x-request-id"] == "bfe9eb29-ab87"
    r = harness.post("/access/v1/evaluation", {"subject": 1}, headers={"X-Request-ID": "err-1"})
    assert r.status_code == 400 and r.headers["x-request-id"] == "err-1"
    r = harness.post("/access/v1/evaluation", yc_request())
    assert r.headers["x-request-id"]
    assert harness.client.get("/no/such/path", headers={"X-Request-ID": "nf"}).headers["x-request-id"] == "nf"


def test_nlgov_keys_are_accepted_and_logged(harness: Harness) -> None:
    req = yc_request(action_props={"processing_activity_id": "pa-42"},
                     context={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    r = harness.post("/access/v1/evaluation", req, headers={"X-Request-ID": "rq-7"})
    assert r.json()["decision"] is True
    event = harness.sink.events[-1]
    assert event.processing_activity_id == "pa-42"
    assert event.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert event.request_id == "rq-7"
    assert event.decision_id == r.json()["context"]["decision_id"]


def test_a_record_names_the_moment_its_decision_was_taken_for_one_clock_reading(make_harness: Any) -> None:
    """The decision's 'now' (here: the time decided for, as the request gives none) and its record's
    time are one reading of the clock, however far the clock moves on between readings; the items of
    a batch are decided at one moment, as they are by one revision of the bundles."""
    readings = (datetime(2026, 11, 22, 10, 0, tzinfo=AMSTERDAM) + timedelta(seconds=s) for s in range(0, 10**6, 7))
    with make_harness(clock=lambda: next(readings)) as h:
        untimed = yc_request(time=None)
        broken = {**untimed, "action": {}}
        for path, body in (("/access/v1/evaluation", untimed),
                           ("/access/v1/evaluations", {"evaluations": [untimed, broken, untimed]}),
                           ("/access/v1/evaluation", untimed)):
            assert h.post(path, body).status_code == 200
        single, *batch, later = h.sink.events[-5:]
        assert single.time == single.as_of and later.time == later.as_of  # one reading each ...
        assert single.time < batch[0].time < later.time
        assert {e.time for e in batch} == {batch[0].time} == {batch[0].as_of, batch[2].as_of}  # ... one per batch
        assert batch[1].errors and batch[1].as_of is None


def test_traceparent_header_is_logged_when_the_body_has_none(harness: Harness) -> None:
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    harness.post("/access/v1/evaluation", yc_request(), headers={"traceparent": tp})
    assert harness.sink.events[-1].traceparent == tp


# ------------------------------------------------------------------------------------------ batches


def _batch(*resources: dict[str, Any], semantic: str | None = None, **top: Any) -> dict[str, Any]:
    base = yc_request()
    body: dict[str, Any] = {"subject": base["subject"], "action": base["action"], "context": base["context"],
                            "evaluations": [{"resource": r} for r in resources], **top}
    if semantic:
        body["options"] = {"evaluations_semantic": semantic}
    return body


def _resource(category: str = "gespreksverslag", **props: Any) -> dict[str, Any]:
    return yc_request(category=category, resource_props=props)["resource"]


ALLOW = _resource()
DENY = _resource(shielded_from=["p-1"])
BROKEN = {"type": "dossier_item", "id": "x"}  # no properties


def test_batch_answers_every_item_in_order(harness: Harness) -> None:
    r = harness.post("/access/v1/evaluations", _batch(ALLOW, DENY, BROKEN, ALLOW))
    assert r.status_code == 200
    answers = r.json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, False, False, True]
    assert "decision" not in r.json()
    assert answers[1]["context"]["reasons"][0]["rule"] == "shielded"
    error = answers[2]["context"]["error"]
    assert error["status"] == 400 and error["field"] == "resource.properties.dossier_type"  # routed first
    assert len({a["context"]["decision_id"] for a in answers}) == 4


@pytest.mark.parametrize("semantic, decisions", [
    ("execute_all", [True, False, True, False]),
    ("deny_on_first_deny", [True, False]),
    ("permit_on_first_permit", [True]),
])
def test_batch_semantics(harness: Harness, semantic: str, decisions: list[bool]) -> None:
    body = _batch(ALLOW, DENY, ALLOW, DENY, semantic=semantic)
    assert [a["decision"] for a in harness.post("/access/v1/evaluations", body).json()["evaluations"]] == decisions


def test_deny_on_first_deny_stops_at_a_malformed_item(harness: Harness) -> None:
    body = _batch(ALLOW, BROKEN, ALLOW, semantic="deny_on_first_deny")
    answers = harness.post("/access/v1/evaluations", body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, False]
    assert "error" in answers[1]["context"]


def test_permit_on_first_permit_skips_leading_denies(harness: Harness) -> None:
    body = _batch(DENY, BROKEN, ALLOW, DENY, semantic="permit_on_first_permit")
    assert [a["decision"] for a in harness.post("/access/v1/evaluations", body).json()["evaluations"]] == [
        False, False, True]


def test_item_keys_replace_defaults_per_entity(harness: Harness) -> None:
    doctor = {"type": "professional", "id": "prof-1",
              "properties": {"discipline": "jeugdarts", "treatment_relation": True}}
    body = _batch(ALLOW, ALLOW)
    body["resource"] = _resource()
    body["evaluations"] = [
        {},  # all defaults: parent, read
        {"subject": doctor},  # a professional in care: allowed
        {"action": {"name": "write"}},  # parent write: default deny
        {"context": {"time": "2030-01-01T00:00:00+01:00"}},  # replaces context: child is 13 in 2030
    ]
    answers = harness.post("/access/v1/evaluations", body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, True, False, True]
    assert answers[3]["context"]["reasons"][0]["rule"] == "parent-gezag-12-15"


def test_item_entity_without_type_or_id_falls_back_to_the_default(harness: Harness) -> None:
    body = _batch()
    body["resource"] = {"type": "dossier_item", "id": "d-1/x"}
    props = ALLOW["properties"]
    body["evaluations"] = [{"resource": {"properties": props}}, {"resource": {"id": "other", "properties": props}}]
    answers = harness.post("/access/v1/evaluations", body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, True]
    assert [e.item.id for e in harness.sink.events[-2:]] == ["d-1/x", "other"]


def test_a_batch_without_defaults_decides_each_item_as_a_whole_request(harness: Harness) -> None:
    """Nothing to merge: every item is decided as it was sent (keys beside the four are ignored, as in a
    single request), a non-object item is denied in place, and an item lacking a part is an error."""
    whole = yc_request()
    shielded = yc_request(resource_props={"shielded_from": ["p-1"]})
    body = {"evaluations": [{**whole, "note": "ignored"}, shielded, 7,
                            {k: v for k, v in whole.items() if k != "subject"}]}
    answers = harness.post("/access/v1/evaluations", body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, False, False, False]
    assert answers[1]["context"]["reasons"][0]["rule"] == "shielded"
    assert answers[2]["context"]["error"]["status"] == 400
    assert answers[3]["context"]["error"]["field"] == "subject"
    assert [e.client for e in harness.sink.events[-4:]] == ["c-1", "c-1", None, "c-1"]


@pytest.mark.parametrize("evaluations", [None, []])
def test_evaluations_without_items_is_a_single_evaluation(harness: Harness, evaluations: Any) -> None:
    body = yc_request()
    if evaluations is not None:
        body["evaluations"] = evaluations
    r = harness.post("/access/v1/evaluations", body)
    assert r.status_code == 200
    assert r.json()["decision"] is True and "evaluations" not in r.json()
    bad = {**body}
    bad.pop("subject")
    assert harness.post("/access/v1/evaluations", bad).status_code == 400


@pytest.mark.parametrize("body, field", [
    ({"evaluations": {"resource": {}}}, "evaluations"),
    ({"evaluations": [{}], "options": {"evaluations_semantic": "first"}}, "options.evaluations_semantic"),
    ({"evaluations": [{}], "options": "fast"}, "options"),
])
def test_malformed_batch_payload_is_400(harness: Harness, body: dict[str, Any], field: str) -> None:
    r = harness.post("/access/v1/evaluations", body)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == field


def test_non_object_item_is_denied_in_place(harness: Harness) -> None:
    body = _batch(ALLOW)
    body["evaluations"].append("not an object")
    answers = harness.post("/access/v1/evaluations", body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, False]
    assert answers[1]["context"]["error"]["status"] == 400


def test_batch_size_limit_is_413(make_harness: Any) -> None:
    with make_harness(max_batch=3) as h:
        r = h.post("/access/v1/evaluations", _batch(ALLOW, ALLOW, ALLOW, ALLOW))
        assert r.status_code == 413
        assert r.json()["errors"][0]["field"] == "evaluations"
        assert h.post("/access/v1/evaluations", _batch(ALLOW, ALLOW, ALLOW)).status_code == 200


def test_every_batch_item_is_logged(harness: Harness) -> None:
    harness.post("/access/v1/evaluations", _batch(ALLOW, DENY, BROKEN))
    events = harness.sink.events[-3:]
    assert [e.decision for e in events] == [True, False, False]
    assert events[0].rules == ("parent-gezag-under-12",) and events[0].obligations == ("log_access",)
    assert events[0].subject.role == "ouder" and events[0].client == "c-1"
    assert events[0].item.category == "gespreksverslag" and events[0].purpose == "care"
    assert events[2].rules == ("request-error",) and events[2].errors


# ------------------------------------------------------------------------------------------ discovery


def test_discovery_uses_the_request_url_or_public_url(harness: Harness, make_harness: Any) -> None:
    meta = harness.client.get("/.well-known/authzen-configuration").json()
    assert meta["policy_decision_point"] == "http://testserver"
    assert meta["access_evaluation_endpoint"] == "http://testserver/access/v1/evaluation"
    with make_harness(public_url="https://pdp.example.org/") as h:
        meta = h.client.get("/.well-known/authzen-configuration").json()
    assert meta == {
        "policy_decision_point": "https://pdp.example.org",
        "access_evaluation_endpoint": "https://pdp.example.org/access/v1/evaluation",
        "access_evaluations_endpoint": "https://pdp.example.org/access/v1/evaluations",
        "search_subject_endpoint": "https://pdp.example.org/access/v1/search/subject",
        "search_resource_endpoint": "https://pdp.example.org/access/v1/search/resource",
        "search_action_endpoint": "https://pdp.example.org/access/v1/search/action",
    }


def test_a_decided_requests_event_holds_every_field_by_name(harness: Harness) -> None:
    """The decider builds the event positionally (service/decider.py ``_event``); every field named here
    must hold what the request and the verdict say, so a field out of order cannot go unnoticed."""
    from poortwachter.logbook.record import DecisionEvent

    req = yc_request(subject_type="professional", subject_id="prof-9",
                     subject_props={"discipline": "jeugdarts", "treatment_relation": True, "organisation": "ggd-1"},
                     action_props={"processing_activity_id": "pa-1"},
                     context={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                              "attestations": [{"kind": "emergency", "by": "prof-9"}]})
    r = harness.post("/access/v1/evaluation", req, headers={"X-Request-ID": "rq-all"})
    assert r.status_code == 200
    answer = r.json()
    event = harness.sink.events[-1]
    assert isinstance(event, DecisionEvent) and len(event) == len(DecisionEvent._fields)
    bundle = answer["context"]["bundle"]
    expected = {
        "decision_id": answer["context"]["decision_id"], "request_id": "rq-all", "endpoint": "evaluation",
        "decision": answer["decision"], "as_of": "2026-11-22T10:00:00+01:00", "organisation": "ggd-1",
        "action": "read", "client": "c-1", "rules": tuple(x["rule"] for x in answer["context"]["reasons"]),
        "obligations": tuple(o["id"] for o in answer["context"]["obligations"]), "purpose": "care",
        "attestations": ("emergency",), "emergency": True, "emergency_by": "prof-9",
        "processing_activity_id": "pa-1", "errors": (),
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }
    assert {name: getattr(event, name) for name in expected} == expected
    assert (event.bundle.name, event.bundle.version, event.bundle.revision) == (
        bundle["name"], bundle["version"], bundle["revision"])
    assert datetime.fromisoformat(event.time).tzinfo is not None
    assert tuple(event.subject) == ("prof-9", "professional", "jeugdarts")
    assert tuple(event.item) == ("dossier_item", "d-1/gespreksverslag/1", "gespreksverslag", "jgz")
