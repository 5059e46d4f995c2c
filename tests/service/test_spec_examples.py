"""The non-normative examples of the AuthZEN Authorization API 1.0 specification, sent verbatim
(openid/authzen api/authorization-api-1_0.md), against a fixture bundle that knows their entities."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Harness

ALICE = {"type": "user", "id": "alice@acmecorp.com"}
CONTEXT = {"time": "2024-05-31T15:22-07:00"}


@pytest.fixture
def spec(make_harness: Any) -> Any:
    with make_harness(dossier_type_bundles={"none": "authzen-spec"}) as h:
        yield h


def test_example_request(spec: Harness) -> None:
    body = {"subject": ALICE, "resource": {"type": "account", "id": "123"},
            "action": {"name": "can_read", "properties": {"method": "GET"}},
            "context": {"time": "1985-10-26T01:22-07:00"}}
    r = spec.post("/access/v1/evaluation", body, headers={"X-Request-ID": "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"})
    assert r.status_code == 200 and r.json()["decision"] is True
    assert r.headers["x-request-id"] == "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"


def test_boxcarring_without_defaults(spec: Harness) -> None:
    evaluations = [{"subject": ALICE, "action": {"name": "can_read"}, "resource": {"type": "document", "id": doc},
                    "context": CONTEXT} for doc in ("boxcarring.md", "subject-search.md", "resource-search.md")]
    answers = spec.post("/access/v1/evaluations", {"evaluations": evaluations}).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, True, True]


def test_boxcarring_with_a_default_action_overridden_by_the_third(spec: Harness) -> None:
    body = {"subject": ALICE, "context": CONTEXT, "action": {"name": "can_read"}, "evaluations": [
        {"resource": {"type": "document", "id": "boxcarring.md"}},
        {"resource": {"type": "document", "id": "subject-search.md"}},
        {"action": {"name": "can_edit"}, "resource": {"type": "document", "id": "resource-search.md"}}]}
    answers = spec.post("/access/v1/evaluations", body).json()["evaluations"]
    assert [a["decision"] for a in answers] == [True, True, True]
    assert answers[2]["context"]["reasons"][0]["rule"] == "spec.edit-own"


@pytest.mark.parametrize("semantic, decisions", [
    ("execute_all", [True, False, True]),
    ("deny_on_first_deny", [True, False]),
    ("permit_on_first_permit", [True]),
])
def test_evaluation_semantics_example(spec: Harness, semantic: str, decisions: list[bool]) -> None:
    body = {"subject": {"type": "user", "id": "alice@example.com"}, "action": {"name": "read"},
            "options": {"evaluations_semantic": semantic},
            "evaluations": [{"resource": {"type": "document", "id": str(n)}} for n in (1, 2, 3)]}
    assert [a["decision"] for a in spec.post("/access/v1/evaluations", body).json()["evaluations"]] == decisions


def test_search_examples(spec: Harness) -> None:
    subjects = spec.post("/access/v1/search/subject", {
        "subject": {"type": "user"}, "action": {"name": "can_read"}, "resource": {"type": "account", "id": "123"},
        "context": {"time": "2024-10-26T01:22-07:00"},
        "candidates": [{"id": "alice@acmecorp.com"}, {"id": "bob@acmecorp.com"}]}).json()
    assert subjects == {"results": [{"type": "user", "id": "alice@acmecorp.com"}, {"type": "user", "id": "bob@acmecorp.com"}],
                        "page": {"next_token": "", "count": 2, "total": 2}}
    resources = spec.post("/access/v1/search/resource", {
        "subject": ALICE, "action": {"name": "can_read"}, "resource": {"type": "account"},
        "candidates": [{"id": "123"}, {"id": "456"}, {"id": "2"}]}).json()
    assert [x["id"] for x in resources["results"]] == ["123", "456"]
    actions = spec.post("/access/v1/search/action", {
        "subject": {"type": "user", "id": "123"}, "resource": {"type": "account", "id": "123"},
        "context": {"time": "2024-10-26T01:22-07:00"}}).json()
    assert [x["name"] for x in actions["results"]] == ["can_read", "read"]


def test_metadata_example_shape(spec: Harness, make_harness: Any) -> None:
    with make_harness(dossier_type_bundles={"none": "authzen-spec"}, public_url="https://pdp.mycompany.com") as h:
        meta = h.client.get("/.well-known/authzen-configuration").json()
    assert meta["policy_decision_point"] == "https://pdp.mycompany.com"
    assert meta["access_evaluation_endpoint"] == "https://pdp.mycompany.com/access/v1/evaluation"
    assert meta["search_resource_endpoint"] == "https://pdp.mycompany.com/access/v1/search/resource"
