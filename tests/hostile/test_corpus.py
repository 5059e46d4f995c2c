"""A fixed corpus of attacks on the real ASGI app (issue 17): each must get a 4xx problem naming the
field, or a deny — never a 5xx, a hang, an allow it should not get, or a stopped decision-log writer."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from service.conftest import yc_request

from .conftest import Hostile, check, count, is_problem, make_app, suite_requests

NESTING = 300
FAR_TIMES = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"]
SMALL_BOUND = 2.0  # seconds: the 14,000-consent batch is refused or answered within this


def plain(**kw: Any) -> dict[str, Any]:
    """A parent with gezag, identity checked, reading a gespreksverslag of a 10-year-old: an allow."""
    return yc_request(subject_props={"identity_verified": True}, **kw)


def nested(depth: int, leaf: Any = "prof-7") -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def test_the_plain_request_is_allowed(hostile: Hostile) -> None:
    """The corpus mutates this request; it must be an allow, or a deny proves nothing."""
    r = hostile.send("/access/v1/evaluation", plain())
    assert r.status_code == 200 and r.json()["decision"] is True, r.text


# ------------------------------------------------------------------------------- deep nesting


@pytest.mark.parametrize("where", ["batch-item", "single", "top-level-context"])
def test_attestation_by_nested_300_deep_then_the_service_still_answers(hostile: Hostile, where: str) -> None:
    deep = plain(context={"attestations": [{"kind": "emergency", "by": nested(NESTING)}]})
    body: Any = {
        "batch-item": {"evaluations": [deep]},
        "single": deep,
        "top-level-context": {"context": deep["context"], "subject": deep["subject"], "resource": deep["resource"],
                              "evaluations": [{"action": {"name": "read"}}]},
    }[where]
    path = "/access/v1/evaluation" if where == "single" else "/access/v1/evaluations"
    count("corpus")
    check(hostile.send(path, body), None)
    hostile.still_answers(plain())


@pytest.fixture(scope="module")
def deep_allowed(law_bundles: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """An app whose edge lets 300 levels through (max_json_depth 512): the decider and the decision-log
    writer meet the nesting themselves."""
    tmp = tmp_path_factory.mktemp("deep")
    app, clock = make_app(law_bundles, tmp, max_json_depth=512)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Hostile(client, clock, tmp / "log")


@pytest.mark.parametrize("where", ["batch-item", "single"])
def test_nesting_past_the_edge_does_not_stop_the_decision_log_writer(deep_allowed: Hostile, where: str) -> None:
    deep = plain(context={"attestations": [{"kind": "emergency", "by": nested(NESTING)}]})
    body = {"evaluations": [deep]} if where == "batch-item" else deep
    count("corpus")
    check(deep_allowed.send("/access/v1/evaluations", body), None)
    deep_allowed.still_answers(plain())


def test_json_nested_beyond_the_parser_is_a_problem(hostile: Hostile) -> None:
    raw = b'{"subject":' + b"[" * 5000 + b"]" * 5000 + b"}"
    count("corpus")
    is_problem(hostile.send("/access/v1/evaluation", raw=raw))
    hostile.still_answers(plain())


# ------------------------------------------------------------------------------- a heavy batch


def test_batch_of_14000_consents_and_1000_empty_items_is_refused_or_answered_fast(hostile: Hostile) -> None:
    consents = [{"by": f"p{i}", "for": "x", "scope": "dossier", "given_at": "2026-01-01"} for i in range(14_000)]
    base = plain()
    body = {"subject": base["subject"], "action": base["action"], "resource": base["resource"],
            "context": {**base["context"], "consents": consents}, "evaluations": [{}] * 1000}
    raw = orjson.dumps(body)
    assert len(raw) < 1_048_576, "keep it under the body limit: the work, not the size, is the attack"
    count("corpus")
    started = time.monotonic()
    r = hostile.send("/access/v1/evaluations", raw=raw, limit=SMALL_BOUND)
    seconds = time.monotonic() - started
    if r.status_code != 200:
        doc = is_problem(r)
        assert r.status_code in (400, 413), doc
        assert "limit" in doc["detail"] or "at most" in doc["detail"], f"the problem does not name the limit: {doc}"
    else:
        check(r, base_allowed_batch(r))
    assert seconds < SMALL_BOUND
    hostile.still_answers(plain())


def base_allowed_batch(response: Any) -> list[bool]:
    """An empty item inherits the (allowed) defaults; with 14,000 unrelated consents it is the same request."""
    return [True] * len(response.json()["evaluations"])


# ------------------------------------------------------------------------------- far dates


def _bodies(when: str) -> dict[str, tuple[str, Any]]:
    r = plain(time=when)
    resource_tpl = {"type": "dossier_item", "properties": {k: v for k, v in r["resource"]["properties"].items()
                                                           if k in ("dossier_type", "client")}}
    ctx = {"time": when, "purpose": "care"}
    return {
        "evaluation": ("/access/v1/evaluation", r),
        "evaluations": ("/access/v1/evaluations", {"evaluations": [r]}),
        "evaluations-default-context": ("/access/v1/evaluations", {"context": ctx, "subject": r["subject"],
                                                                   "action": r["action"], "resource": r["resource"],
                                                                   "evaluations": [{}]}),
        "search-subject": ("/access/v1/search/subject", {"subject": {"type": "person"}, "action": r["action"],
                                                         "resource": r["resource"], "context": ctx}),
        "search-resource": ("/access/v1/search/resource", {"subject": r["subject"], "action": r["action"],
                                                           "resource": resource_tpl, "context": ctx}),
        "search-action": ("/access/v1/search/action", {"subject": r["subject"], "resource": r["resource"],
                                                       "context": ctx}),
        "decisions": ("/v1/decisions", r),
        "filter": ("/v1/filter", {"subject": r["subject"], "action": r["action"], "resource": resource_tpl,
                                  "categories": ["groei", "gespreksverslag"], "context": ctx}),
    }


ENDPOINTS = list(_bodies(FAR_TIMES[0]))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_answers_at_a_normal_time(hostile: Hostile, endpoint: str) -> None:
    """The far-date bodies below differ from these only in the time: these must be answered."""
    path, body = _bodies("2026-11-22T10:00:00+01:00")[endpoint]
    r = hostile.send(path, body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("when", FAR_TIMES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_far_time_is_a_400_on_every_endpoint(hostile: Hostile, endpoint: str, when: str) -> None:
    path, body = _bodies(when)[endpoint]
    count("corpus")
    r = hostile.send(path, body)
    assert r.status_code != 500, r.text
    if endpoint.startswith("evaluations") and r.status_code == 200:  # a bad item is answered in place (AuthZEN §7)
        error = r.json()["evaluations"][0]["context"].get("error")
        assert r.json()["evaluations"][0]["decision"] is False and error and error["status"] == 400, r.text
        assert "time" in error["field"], error
        return
    assert r.status_code == 400, r.text
    doc = is_problem(r)
    assert any("time" in e["field"] for e in doc["errors"]), doc


# ------------------------------------------------------------------------------- the HTTP edge


@pytest.mark.parametrize("length", ["-5", "abc", "1e3", " 12", "+12", "99999999999999999999999"])
def test_a_bad_content_length_is_a_problem(hostile: Hostile, length: str) -> None:
    count("corpus")
    r = hostile.send("/access/v1/evaluation", raw=orjson.dumps(plain()), headers={"content-length": length})
    is_problem(r)


@pytest.mark.parametrize("name", ["candidates/a\x00b.bundle.json", "\x00", "candidates/\x00/../x.bundle.json"])
def test_a_nul_byte_in_a_shadow_file_name_is_a_problem(hostile: Hostile, name: str) -> None:
    count("corpus")
    r = hostile.send("/v1/bundles/nl-jgz/shadow", {"file": name}, admin=True)
    doc = is_problem(r)
    assert r.status_code in (400, 409), doc
    assert any(e["field"] in ("file", "request.file") for e in doc["errors"]), doc


def test_a_nul_byte_in_a_bundle_name_is_a_problem(hostile: Hostile) -> None:
    count("corpus")
    r = hostile.client.post("/v1/bundles/nl%00jgz/shadow", json={"version": "2026.1.0"},
                            headers={"Authorization": "Bearer admin-token-for-tests-0123456789"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json"), r.text


# ------------------------------------------------------------------------------- ambiguous JSON and dates


@pytest.mark.parametrize("raw", [
    b'"gezag": false, "gezag": true',
    b'"gezag": true, "gezag": false',
    b'"gezag": true, "relation": "derde", "relation": "ouder"',
])
def test_duplicate_keys_are_a_400(hostile: Hostile, raw: bytes) -> None:
    body = orjson.dumps(plain()).replace(b'"gezag":true', raw, 1)
    assert body.count(b'"gezag"') >= 1 and body != orjson.dumps(plain())
    count("corpus")
    r = hostile.send("/access/v1/evaluation", raw=body)
    assert r.status_code == 400, r.text
    is_problem(r)


def test_duplicate_keys_in_a_batch_item_are_refused(hostile: Hostile) -> None:
    item = orjson.dumps(plain(gezag=False)).replace(b'"gezag":false', b'"gezag":false,"gezag":true', 1)
    raw = b'{"evaluations":[' + item + b"]}"
    count("corpus")
    r = hostile.send("/access/v1/evaluations", raw=raw)
    if r.status_code == 200:
        item_answer = r.json()["evaluations"][0]
        assert item_answer["decision"] is False and item_answer["context"].get("error", {}).get("status") == 400, r.text
    else:
        assert r.status_code == 400, r.text
        is_problem(r)


@pytest.mark.parametrize("birthdate", ["2016-W22-1", "2016W221", "20160530", "2016-05-30T25:00:00", "2016-5-30"])
def test_a_birthdate_not_written_yyyy_mm_dd_is_a_400(hostile: Hostile, birthdate: str) -> None:
    count("corpus")
    r = hostile.send("/access/v1/evaluation", plain(birthdate=birthdate))
    assert r.status_code == 400, r.text
    doc = is_problem(r)
    assert any(e["field"] == "resource.properties.client.birthdate" for e in doc["errors"]), doc


# ------------------------------------------------------------------------------- meaning


def _scenario(sid: str) -> dict[str, Any]:
    for scenario, bundle in suite_requests():
        if scenario.id == sid:
            request = copy.deepcopy(scenario.request)
            request["context"]["bundle"] = bundle
            return request
    raise AssertionError(f"scenario {sid} is gone from the suites; pick another consent scenario")


@pytest.mark.parametrize("sid", ["jgz-b-transfer-16th-birthday-child-only",
                                 "jgz-002-deceased-age-17-nabestaande-with-consent-given-in-life"])
def test_a_consent_dated_before_the_clients_birth_does_not_count(hostile: Hostile, sid: str) -> None:
    request = _scenario(sid)
    r = hostile.send("/access/v1/evaluation", request)
    assert r.status_code == 200 and r.json()["decision"] is True, f"with its consent the scenario is an allow: {r.text}"
    born = request["resource"]["properties"]["client"]["birthdate"]
    for given in (f"{int(born[:4]) - 1}{born[4:]}T09:00:00+01:00", f"{born[:8]}01T00:00:00+01:00"):
        if given[:10] >= born:
            continue
        mutated = copy.deepcopy(request)
        for consent in mutated["context"]["consents"]:
            consent["given_at"] = given
        count("corpus")
        check(hostile.send("/access/v1/evaluation", mutated), None)


@pytest.mark.parametrize("other", ["p-99", "c-1 ", "C-1", "c-1\x00", "c-10"])
def test_relation_self_with_another_id_is_a_third_party(hostile: Hostile, other: str) -> None:
    """A 17-year-old may have a copy of his own dossier item; someone claiming 'self' with another id may not."""
    own = yc_request(relation="self", subject_id="c-1", action="copy", birthdate="2009-05-30",
                     subject_props={"identity_verified": True})
    r = hostile.send("/access/v1/evaluation", own)
    assert r.status_code == 200 and r.json()["decision"] is True, f"the client's own copy is an allow: {r.text}"
    claimed = copy.deepcopy(own)
    claimed["subject"]["id"] = other
    count("corpus")
    check(hostile.send("/access/v1/evaluation", claimed), None)
