"""poortwachter.client against the real service in process: every endpoint, its answer types and its problems.

The sync client talks through Starlette's TestClient (an httpx.Client bound to the app), the async
client through httpx's ASGITransport with the app's lifespan run by hand; both reach the real
routes, the real nl-jgz bundle and the real problem documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import support
from fastapi import FastAPI
from fastapi.testclient import TestClient

from poortwachter.client import (
    AsyncClient,
    Client,
    ClientError,
    Conflict,
    Decision,
    Explanation,
    Forbidden,
    InvalidRequest,
    MalformedBody,
    NotFound,
    Problem,
    TooLarge,
    Unauthenticated,
)
from poortwachter.client.calls import problem

from .conftest import ADMIN_TOKEN, ALLOW, DENY, make_app, request

BASE = "http://testserver"
PARENT = ALLOW["subject"]
CLIENT_9 = ALLOW["resource"]["properties"]["client"]
TEMPLATE = {"type": "dossier_item", "properties": {"dossier_type": "jgz", "client": CLIENT_9}}


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[TestClient]:
    """The app with its lifespan run once for the module (an httpx.Client bound to it)."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def pdp(http: TestClient) -> Iterator[Client]:
    with Client(BASE, http=http, admin_token=ADMIN_TOKEN) as c:
        yield c


def test_an_allow_carries_the_deciding_rule_its_basis_and_obligations(pdp: Client) -> None:
    answer = pdp.evaluate(ALLOW, request_id="epd-req-1")
    assert answer.decision is True
    assert [r.rule for r in answer.context.reasons] == ["jgz.inzage.gezag-onder-12"]
    assert "BW 7:456" in answer.context.reasons[0].basis and answer.context.reasons[0].effect == "allow"
    assert set(answer.obligation_ids) == {"log_access", "redact_third_party", "respond_within_one_month"}
    assert answer.context.bundle is not None and answer.context.bundle.name == "nl-jgz"
    assert answer.context.bundle.revision.startswith("sha256:")
    # obligations are mandatory: an allow counts only where every duty is carried out
    assert answer.permits({"log_access", "redact_third_party", "respond_within_one_month"})
    assert not answer.permits({"log_access"})


def test_a_deny_is_an_answer_with_reasons_and_what_is_missing(pdp: Client) -> None:
    answer = pdp.evaluate(DENY)
    assert answer.decision is False and not answer.permits({"log_access"})
    rules = [r.rule for r in answer.context.reasons]
    assert "jgz.relatie.derde" in rules and all(r.effect == "deny" for r in answer.context.reasons)
    assert answer.context.reasons[0].text.nl and answer.context.reasons[0].text.en
    assert "subject.identity_verified" in [m.path for m in answer.context.missing]


def test_dates_and_times_may_be_python_objects(pdp: Client) -> None:
    moment = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    body = request(context={"time": moment, "purpose": "care"})
    assert pdp.evaluate(body).decision is True
    body["resource"]["properties"]["client"] = {**CLIENT_9, "birthdate": datetime(2019, 5, 30).date()}
    assert pdp.evaluate(body).decision is True


def test_an_unknown_value_is_an_invalid_request_naming_the_field(pdp: Client) -> None:
    with pytest.raises(InvalidRequest) as caught:
        pdp.evaluate(request(action={"name": "lezen"}))
    problem = caught.value
    assert isinstance(problem, Problem) and isinstance(problem, ClientError)
    assert (problem.status, problem.kind, problem.title) == (400, "invalid-request", "Bad Request")
    assert problem.type == "https://poortwachter.nl/problems/invalid-request"
    assert [(e.field, e.pointer, e.got) for e in problem.errors] == [("action.name", "/action/name", "'lezen'")]
    assert "one of read" in (problem.errors[0].expected or "") and problem.request_id
    assert not problem.retryable


def test_a_refused_dossier_type_is_an_invalid_request(pdp: Client) -> None:
    body = request()
    body["resource"]["properties"]["dossier_type"] = "onbekend"
    with pytest.raises(InvalidRequest) as caught:
        pdp.evaluate(body)
    assert caught.value.errors[0].field == "resource.properties.dossier_type"


def test_a_batch_answers_in_order_with_a_malformed_item_denied_in_place(pdp: Client) -> None:
    answers = pdp.evaluate_batch({**ALLOW, "evaluations": [{}, {"action": {"name": "destroy"}}, {"action": {"name": "x"}}]})
    assert [a.decision for a in answers] == [True, False, False]
    assert answers[0].context.reasons[0].rule == "jgz.inzage.gezag-onder-12"
    assert answers[1].context.reasons and answers[1].context.error is None
    error = answers[2].context.error
    assert error is not None and (error.status, error.field, error.pointer) == (400, "action.name", "/action/name")
    short = pdp.evaluate_batch({**ALLOW, "options": {"evaluations_semantic": "deny_on_first_deny"},
                                "evaluations": [{}, {"action": {"name": "destroy"}}, {}]})
    assert [a.decision for a in short] == [True, False]


def test_a_batch_without_items_is_one_evaluation(pdp: Client) -> None:
    answers = pdp.evaluate_batch({**ALLOW, "evaluations": []})
    assert len(answers) == 1 and answers[0].decision is True


def test_a_batch_over_the_limit_is_too_large(bundles: Path) -> None:
    with TestClient(make_app(bundles, max_batch=2)) as http, Client(BASE, http=http) as pdp:
        with pytest.raises(TooLarge) as caught:
            pdp.evaluate_batch({**ALLOW, "evaluations": [{}, {}, {}]})
    assert caught.value.status == 413 and caught.value.kind == "batch-too-large"


def test_explain_shows_facts_and_every_rule(pdp: Client) -> None:
    answer = pdp.explain(ALLOW)
    assert isinstance(answer, Explanation) and isinstance(answer, Decision) and answer.decision is True
    assert answer.facts["client.age"] == 7
    applied = [t.rule for t in answer.rules if t.applied]
    assert "jgz.inzage.gezag-onder-12" in applied and len(answer.rules) > 50
    assert any(t.failed for t in answer.rules if t.considered and not t.applied)
    with pytest.raises(ValueError, match="history_token"):
        pdp.explain(ALLOW, history=True)


def test_filter_hides_what_may_not_be_shown(pdp: Client) -> None:
    answer = pdp.filter({"subject": PARENT, "action": {"name": "read"}, "context": ALLOW["context"],
                         "resource": TEMPLATE, "categories": ["groei", "geheim_adres", "vaccinatie"]})
    assert set(answer.allowed) == {"groei", "vaccinatie"} and answer.denied == ("geheim_adres",)
    assert [i.id for i in answer.items] == ["groei", "geheim_adres", "vaccinatie"]
    assert answer.items[1].decision is False and answer.items[1].context.reasons


def test_search_pages_until_the_end(pdp: Client) -> None:
    body = {"subject": PARENT, "action": {"name": "read"}, "resource": TEMPLATE, "context": ALLOW["context"],
            "page": {"limit": 4}}
    seen: list[str] = []
    pages = 0
    while True:
        page = pdp.search_resources(body)
        pages += 1
        seen += [r.id or "" for r in page.results]
        assert page.count == len(page.results) <= 4
        if not page.next_token:
            break
        body = {**body, "page": {"limit": 4, "token": page.next_token}}
    assert pages >= 2 and len(seen) == page.total and "groei" in seen and "geheim_adres" not in seen


def test_search_actions_and_subjects(pdp: Client) -> None:
    actions = pdp.search_actions({"subject": PARENT, "resource": ALLOW["resource"], "context": ALLOW["context"]})
    names = {r.name for r in actions.results}
    assert {"read", "copy"} <= names and "destroy" not in names
    subjects = pdp.search_subjects({
        "subject": {"type": "person"}, "action": {"name": "read"}, "resource": ALLOW["resource"],
        "context": ALLOW["context"],
        "candidates": [{"id": "p-123", "properties": PARENT["properties"]},
                       {"id": "p-999", "properties": {"relation": "derde"}}]})
    assert [(r.type, r.id) for r in subjects.results] == [("person", "p-123")]


def test_metadata_names_the_endpoints(pdp: Client) -> None:
    meta = pdp.metadata()
    assert meta.policy_decision_point == BASE
    assert meta.access_evaluation_endpoint == f"{BASE}/access/v1/evaluation"
    assert meta.search_action_endpoint == f"{BASE}/access/v1/search/action"


def test_bundles_health_and_admin(pdp: Client) -> None:
    listing = pdp.bundles()
    assert {b.name for b in listing.bundles} == {"nl-jgz", "nl-jeugdhulp"}
    assert listing.dossier_type_bundles["jgz"] == "nl-jgz" and listing.revision_set
    detail = pdp.bundle("nl-jgz")
    assert detail.in_force == "2026.1.0" and detail.versions[0].active and detail.versions[0].key_id == "dev-signing"
    with pytest.raises(NotFound) as caught:
        pdp.bundle("nl-jzg")
    assert caught.value.kind == "unknown-bundle" and caught.value.errors[0].field == "name"
    assert pdp.health().ok and pdp.health().status == "ok"
    ready = pdp.ready()
    assert ready.ok and ready.status == "ready"
    report = pdp.reload()
    assert report.generation >= 1 and report.refused == {}


def test_shadow_evaluation_from_start_to_stop(pdp: Client) -> None:
    started = pdp.start_shadow("nl-jgz", version="2026.1.0")
    assert started.running and started.candidate_version == "2026.1.0" and started.compared == 0
    assert pdp.evaluate(ALLOW).decision is True
    assert support.wait_until(lambda: pdp.shadow_report("nl-jgz").compared >= 1, 10)
    report = pdp.shadow_report("nl-jgz")
    assert report.same == report.compared and report.different == 0  # the same version: nothing differs
    stopped = pdp.stop_shadow("nl-jgz")
    assert not stopped.running and stopped.raw["stopped"]
    with pytest.raises(Conflict):
        pdp.start_shadow("nl-jgz", version="1999.1.0")
    with pytest.raises(InvalidRequest):
        pdp.start_shadow("nl-jgz")  # exactly one of version, revision, file


def test_admin_calls_need_the_right_token(http: TestClient) -> None:
    with pytest.raises(ValueError, match="admin_token"):
        Client(BASE, http=http).reload()
    with pytest.raises(Forbidden) as caught:
        Client(BASE, http=http, admin_token="not-the-token").rollback("nl-jgz")
    assert caught.value.status == 403 and caught.value.kind == "forbidden"


def test_a_decision_token_is_sent_when_the_service_wants_one(bundles: Path) -> None:
    with TestClient(make_app(bundles, decision_token="decision-token-0123456789abcdef")) as http:
        with pytest.raises(Unauthenticated) as caught:
            Client(BASE, http=http).evaluate(ALLOW)
        assert caught.value.status == 401 and caught.value.errors[0].field == "Authorization"
        assert Client(BASE, http=http, token="decision-token-0123456789abcdef").evaluate(ALLOW).decision is True


def test_a_body_that_is_not_json_is_a_malformed_body_problem(http: TestClient) -> None:
    answer = http.post("/access/v1/evaluation", content=b"{", headers={"Content-Type": "application/json"})
    exc = problem(answer.status_code, answer.headers, answer.json())
    assert isinstance(exc, MalformedBody) and exc.kind == "malformed-json"


# ------------------------------------------------------------------------------------------------ async


async def _lifespan_calls(app: FastAPI) -> dict[str, object]:
    out: dict[str, object] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http, AsyncClient(BASE, http=http) as pdp:
            out["allow"], out["deny"] = await asyncio.gather(pdp.evaluate(ALLOW), pdp.evaluate(DENY))
            out["batch"] = await pdp.evaluate_batch({**ALLOW, "evaluations": [{}, {"action": {"name": "x"}}]})
            out["explain"] = await pdp.explain(ALLOW)
            out["filter"] = await pdp.filter({"subject": PARENT, "action": {"name": "read"}, "resource": TEMPLATE,
                                              "context": ALLOW["context"], "categories": ["groei", "geheim_adres"]})
            out["actions"] = await pdp.search_actions({"subject": PARENT, "resource": ALLOW["resource"],
                                                       "context": ALLOW["context"]})
            out["meta"] = await pdp.metadata()
            out["ready"] = await pdp.ready()
            out["bundles"] = await pdp.bundles()
            try:
                await pdp.evaluate(request(action={"name": "lezen"}))
            except InvalidRequest as exc:
                out["problem"] = exc
    return out


def test_the_async_client_gives_the_same_answers(bundles: Path) -> None:
    out = asyncio.run(_lifespan_calls(make_app(bundles)))
    allow, deny = out["allow"], out["deny"]
    assert isinstance(allow, Decision) and allow.decision is True
    assert allow.context.reasons[0].rule == "jgz.inzage.gezag-onder-12"
    assert isinstance(deny, Decision) and deny.decision is False and deny.context.reasons
    batch = out["batch"]
    assert isinstance(batch, list) and [d.decision for d in batch] == [True, False]
    assert batch[1].context.error is not None and batch[1].context.error.field == "action.name"
    explain = out["explain"]
    assert isinstance(explain, Explanation) and explain.facts["client.age"] == 7
    assert out["filter"].denied == ("geheim_adres",)
    assert "read" in {r.name for r in out["actions"].results}
    assert out["meta"].access_evaluations_endpoint == f"{BASE}/access/v1/evaluations"
    assert out["ready"].ok is True
    assert {b.name for b in out["bundles"].bundles} == {"nl-jgz", "nl-jeugdhulp"}
    problem = out["problem"]
    assert isinstance(problem, InvalidRequest) and problem.errors[0].pointer == "/action/name"
