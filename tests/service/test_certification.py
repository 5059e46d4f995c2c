"""The OpenID AuthZEN Authorization API 1.0 certification scenario, levels Basic, Batch, Search and
Discovery, against policies/authzen-certification and the fixture inventory (alice, bob, record-1,
record-2). Section numbers refer to openid/authzen certification/authorization-api-1_0-scenario.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from poortwachter.service.settings import load_settings

from .conftest import ROOT, Harness, MakeHarness

#: the configuration a certification run uses, as shipped (route, clock, inventory)
CONFIG = ROOT / "deploy" / "authzen-certification" / "poortwachter.yaml"

ALICE = {"type": "user", "id": "alice"}
BOB = {"type": "user", "id": "bob"}
ADMIN_BOB = {"type": "user", "id": "bob", "properties": {"role": "admin"}}
R1 = {"type": "record", "id": "record-1"}
R2_ARCHIVED = {"type": "record", "id": "record-2", "properties": {"status": "archived"}}
READ, WRITE = {"name": "read"}, {"name": "write"}

@pytest.fixture
def cert(make_harness: MakeHarness) -> Iterator[Harness]:
    """Every check below runs with the shipped certification configuration (over the test artifacts)."""
    shipped = load_settings(config=CONFIG, env={})
    with make_harness(**{key: getattr(shipped, key) for key in shipped.model_fields_set}) as h:
        yield h


# C.2.2: request → decision (None: only the structure is validated)
BASIC: list[tuple[str, dict[str, Any], bool | None]] = [
    ("C.2.2.1", {"subject": ALICE, "action": READ, "resource": R1}, True),
    ("C.2.2.2", {"subject": BOB, "action": WRITE, "resource": R1}, False),
    ("C.2.2.3", {"subject": ALICE, "action": READ, "resource": R1,
                 "context": {"time": "2025-06-27T18:03-07:00", "ip": "192.168.1.1"}}, True),
    ("C.2.2.4", {"subject": ALICE, "action": WRITE, "resource": R2_ARCHIVED}, False),
    ("C.2.2.5", {"subject": ADMIN_BOB, "action": WRITE, "resource": R2_ARCHIVED}, True),
    ("C.2.2.6", {"subject": ALICE, "action": {"name": "delete", "properties": {"soft": True}}, "resource": R1}, True),
    ("C.2.2.7", {"subject": ALICE, "action": {"name": "delete", "properties": {"soft": False}}, "resource": R1}, False),
    ("C.2.2.8", {"subject": {**ALICE, "properties": {"department": "Sales", "role": "manager"}},
                 "action": {"name": "read", "properties": {"method": "GET"}},
                 "resource": {**R1, "properties": {"status": "active", "owner": "bob"}}}, True),
    ("C.2.2.9", {"subject": ALICE, "action": READ, "resource": R1, "foo": "bar", "futureField": {"nested": True}}, True),
]


@pytest.mark.parametrize("case, request_body, decision", BASIC, ids=[b[0] for b in BASIC])
def test_basic_request_acceptance(cert: Harness, case: str, request_body: dict[str, Any], decision: bool) -> None:
    r = cert.post("/access/v1/evaluation", request_body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["decision"] is decision
    assert isinstance(body["context"], dict)  # C.2.3.2


MISSING = [
    ("no subject", {"action": READ, "resource": R1}),
    ("no action", {"subject": ALICE, "resource": R1}),
    ("no resource", {"subject": ALICE, "action": READ}),
    ("subject without type", {"subject": {"id": "alice"}, "action": READ, "resource": R1}),
    ("subject without id", {"subject": {"type": "user"}, "action": READ, "resource": R1}),
    ("action without name", {"subject": ALICE, "action": {}, "resource": R1}),
    ("resource without type", {"subject": ALICE, "action": READ, "resource": {"id": "record-1"}}),
    ("resource without id", {"subject": ALICE, "action": READ, "resource": {"type": "record"}}),
    ("subject is a string", {"subject": "alice", "action": READ, "resource": R1}),
    ("action.name is a number", {"subject": ALICE, "action": {"name": 123}, "resource": R1}),
]


@pytest.mark.parametrize("case, request_body", MISSING, ids=[m[0] for m in MISSING])
def test_basic_error_handling_c_2_4(cert: Harness, case: str, request_body: dict[str, Any]) -> None:
    assert cert.post("/access/v1/evaluation", request_body).status_code == 400


@pytest.mark.parametrize("content, ctype", [(b'{"subject": {}}', "text/plain"), (b"{", "application/json"),
                                             (b"", "application/json")])
def test_basic_transport_errors_c_2_4_3_to_5(cert: Harness, content: bytes, ctype: str) -> None:
    assert cert.client.post("/access/v1/evaluation", content=content, headers={"Content-Type": ctype}).status_code == 400


def test_basic_header_and_idempotency_c_2_5_c_2_6(cert: Harness) -> None:
    body = BASIC[0][1]
    r = cert.post("/access/v1/evaluation", body, headers={"X-Request-ID": "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"})
    assert r.headers["x-request-id"] == "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"
    assert cert.post("/access/v1/evaluation", body).status_code == 200  # C.2.5.2
    assert {cert.post("/access/v1/evaluation", body).json()["decision"] for _ in range(5)} == {True}


# C.3: batch request → decisions (None: structure only)
BATCH: list[tuple[str, dict[str, Any], list[bool | None]]] = [
    ("C.3.2.1", {"subject": ALICE, "action": READ,
                 "evaluations": [{"resource": R1}, {"resource": {"type": "record", "id": "record-2"}}]}, [None, None]),
    ("C.3.2.2", {"subject": BOB, "resource": R1, "evaluations": [{"action": READ}, {"action": WRITE}]}, [True, False]),
    ("C.3.2.3", {"subject": ALICE, "action": WRITE, "evaluations": [
        {"resource": {**R1, "properties": {"status": "active"}}}, {"resource": R2_ARCHIVED}]}, [True, False]),
    ("C.3.2.4", {"action": WRITE, "resource": R2_ARCHIVED,
                 "evaluations": [{"subject": ALICE}, {"subject": ADMIN_BOB}]}, [False, True]),
    ("C.3.2.5", {"evaluations": [{"subject": ALICE, "action": READ, "resource": R1},
                                 {"subject": BOB, "action": WRITE, "resource": R1}]}, [True, False]),
    ("C.3.2.6", {"subject": ALICE, "action": READ, "context": {"time": "2025-06-27T18:03-07:00"}, "evaluations": [
        {"resource": R1},
        {"resource": {"type": "record", "id": "record-2"},
         "context": {"time": "2025-06-27T19:00-07:00", "source": "batch-override"}}]}, [None, None]),
    ("C.3.2.7", {"subject": ALICE, "action": WRITE, "resource": {"type": "record"}, "evaluations": [
        {"resource": {"id": "record-1", "properties": {"status": "active"}}}, {"resource": R2_ARCHIVED}]}, [True, False]),
    ("C.3.4.1", {"subject": ALICE, "action": READ, "evaluations": [{"resource": R1}, {}]}, [None, False]),
]


@pytest.mark.parametrize("case, request_body, decisions", BATCH, ids=[b[0] for b in BATCH])
def test_batch(cert: Harness, case: str, request_body: dict[str, Any], decisions: list[bool | None]) -> None:
    r = cert.post("/access/v1/evaluations", request_body)
    assert r.status_code == 200
    answers = r.json()["evaluations"]
    assert len(answers) == len(decisions)  # C.3.3.1
    for answer, expected in zip(answers, decisions):
        assert isinstance(answer["decision"], bool)  # C.3.3.3
        if expected is not None:
            assert answer["decision"] is expected


@pytest.mark.parametrize("evaluations", [None, []], ids=["C.3.4.2", "C.3.4.3"])
def test_batch_backwards_compatible(cert: Harness, evaluations: Any) -> None:
    body: dict[str, Any] = {"subject": ALICE, "action": READ, "resource": R1}
    if evaluations is not None:
        body["evaluations"] = evaluations
    assert cert.post("/access/v1/evaluations", body).json()["decision"] is True


# C.4: search


def _ids(r: Any) -> set[str]:
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert isinstance(results, list)
    return {x.get("id", x.get("name")) for x in results}


def test_search_subject_c_4_2(cert: Harness) -> None:
    r = cert.post("/access/v1/search/subject", {"subject": {"type": "user"}, "action": READ, "resource": R1})
    assert {"alice", "bob"} <= _ids(r)
    assert all(x["type"] == "user" for x in r.json()["results"])
    r = cert.post("/access/v1/search/subject", {"subject": {"type": "user"}, "action": READ, "resource": R1,
                                                 "context": {"time": "2024-10-26T01:22-07:00"}})
    assert r.status_code == 200  # C.4.2.2
    r = cert.post("/access/v1/search/subject", {"subject": {"type": "user"}, "action": WRITE, "resource": R2_ARCHIVED})
    assert "bob" in _ids(r)  # C.4.2.4


def test_search_resource_c_4_3(cert: Harness) -> None:
    r = cert.post("/access/v1/search/resource", {"subject": ALICE, "action": READ, "resource": {"type": "record"}})
    assert "record-1" in _ids(r)
    assert all(x["type"] == "record" for x in r.json()["results"])
    r = cert.post("/access/v1/search/resource", {"subject": ADMIN_BOB, "action": WRITE, "resource": {"type": "record"}})
    assert "record-2" in _ids(r)  # C.4.3.3


def test_search_action_c_4_4(cert: Harness) -> None:
    assert {"read", "write"} <= _ids(cert.post("/access/v1/search/action", {"subject": ALICE, "resource": R1}))
    assert "write" in _ids(cert.post("/access/v1/search/action", {"subject": ADMIN_BOB, "resource": R2_ARCHIVED}))
    r = cert.post("/access/v1/search/action", {"subject": ALICE, "resource": R1, "context": {"time": "2024-10-26T01:22-07:00"}})
    assert r.status_code == 200  # C.4.4.2


def test_search_pagination_c_4_5(cert: Harness) -> None:
    body: dict[str, Any] = {"subject": {"type": "user"}, "action": READ, "resource": R1, "page": {"limit": 1}}
    first = cert.post("/access/v1/search/subject", body).json()
    assert len(first["results"]) == 1 and first["page"]["count"] == 1 and first["page"]["total"] == 2
    token = first["page"]["next_token"]
    assert isinstance(token, str) and token
    second = cert.post("/access/v1/search/subject", {**body, "page": {"token": token}}).json()
    assert isinstance(second["page"], dict) and second["page"]["next_token"] == ""
    assert {x["id"] for x in first["results"] + second["results"]} == {"alice", "bob"}


def test_search_page_token_belongs_to_its_query(cert: Harness) -> None:
    body: dict[str, Any] = {"subject": {"type": "user"}, "action": READ, "resource": R1, "page": {"limit": 1}}
    token = cert.post("/access/v1/search/subject", body).json()["page"]["next_token"]
    other = {**body, "action": WRITE, "page": {"token": token}}
    r = cert.post("/access/v1/search/subject", other)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "page.token"
    r = cert.post("/access/v1/search/subject", {**body, "page": {"token": "garbage!"}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "page.token"


def test_search_empty_results_c_4_6(cert: Harness) -> None:
    assert _ids(cert.post("/access/v1/search/action",
                          {"subject": {"type": "user", "id": "nonexistent-user"}, "resource": R1})) == set()
    assert _ids(cert.post("/access/v1/search/subject",
                          {"subject": {"type": "spaceship"}, "action": READ, "resource": R1})) == set()


@pytest.mark.parametrize("path, body", [
    ("subject", {"subject": {"type": "user"}, "action": READ, "resource": {"type": "record", "id": "nonexistent-record"}}),
    ("subject", {"subject": {"type": "user"}, "action": {"name": "nonexistent-action"}, "resource": R1}),
    ("resource", {"subject": {"type": "user", "id": "nonexistent-user"}, "action": READ, "resource": {"type": "record"}}),
    ("action", {"subject": {"type": "user", "id": "nonexistent-user"}, "resource": R1}),
    ("action", {"subject": ALICE, "resource": {"type": "record", "id": "nonexistent-record"}}),
], ids=["subject/resource", "subject/action", "resource/subject", "action/subject", "action/resource"])
def test_search_about_an_unknown_entity_is_empty_c_4_6_1(cert: Harness, path: str, body: dict[str, Any]) -> None:
    """The inventory is what the PDP recognises: a search holding an unlisted entity fixed has no
    results, even where the fixture policy (every user may read every record) would allow."""
    r = cert.post(f"/access/v1/search/{path}", body)
    assert r.status_code == 200
    assert r.json()["results"] == [] and r.json()["page"]["next_token"] == ""


@pytest.mark.parametrize("path, body", [
    ("subject", {"subject": {"type": "user"}, "resource": R1}),
    ("resource", {"action": READ, "resource": {"type": "record"}}),
    ("action", {"subject": ALICE}),
    ("subject", {"subject": {"type": "user"}, "action": READ, "resource": {"type": "record"}}),
    ("resource", {"subject": {"type": "user"}, "action": READ, "resource": {"type": "record"}}),
], ids=["C.4.7.1 subject", "C.4.7.1 resource", "C.4.7.1 action", "C.4.7.2 subject", "C.4.7.2 resource"])
def test_search_errors_c_4_7(cert: Harness, path: str, body: dict[str, Any]) -> None:
    assert cert.post(f"/access/v1/search/{path}", body).status_code == 400


def test_search_with_request_candidates(cert: Harness) -> None:
    body = {"subject": ALICE, "action": WRITE, "resource": {"type": "record"},
            "candidates": [{"id": "a", "properties": {"status": "active"}}, {"id": "b", "properties": {"status": "archived"}}]}
    assert _ids(cert.post("/access/v1/search/resource", body)) == {"a"}


# C.6: discovery


def test_discovery_c_6(cert: Harness, make_harness: Any) -> None:
    with make_harness(dossier_type_bundles={"none": "authzen-certification"}, public_url="https://pdp.example.com") as h:
        r = h.client.get("/.well-known/authzen-configuration")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    meta = r.json()
    assert meta["policy_decision_point"] == "https://pdp.example.com"
    for key in ("access_evaluation_endpoint", "access_evaluations_endpoint", "search_subject_endpoint",
                "search_resource_endpoint", "search_action_endpoint"):
        assert meta[key].startswith("https://pdp.example.com/access/v1/")
    assert "capabilities" not in meta and "signed_metadata" not in meta  # zero values are omitted
