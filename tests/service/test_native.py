"""The native API: /v1/decisions (explained) and /v1/filter (items and field categories)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from poortwachter.core.vocabulary import CATEGORIES

from .conftest import Harness, yc_request


def test_decisions_explains_facts_rules_and_missing(harness: Harness) -> None:
    r = harness.post("/v1/decisions", yc_request(birthdate="2009-01-01"))  # 17: needs the client's consent
    assert r.status_code == 200
    body = r.json()
    assert body["decision"] is False
    assert body["facts"]["client.age"] == 17 and body["facts"]["client.age_band"] == "16-17"
    assert body["facts"]["subject.relation"] == "ouder"
    rules = {t["rule"]: t for t in body["rules"]}
    assert rules["parent-16-plus-with-consent"]["considered"] is True
    assert rules["parent-16-plus-with-consent"]["applied"] is False
    assert rules["parent-16-plus-with-consent"]["failed"]
    assert rules["disclose-veilig-thuis"]["considered"] is False
    assert body["context"]["missing"][0]["path"] == "consent.self"
    assert body["context"]["decision_id"] == harness.sink.events[-1].decision_id
    assert harness.sink.events[-1].endpoint == "decisions"


def test_decisions_errors_are_problems_and_media_type_is_415(harness: Harness) -> None:
    r = harness.post("/v1/decisions", {"subject": {"type": "person"}})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "subject.id"
    r = harness.client.post("/v1/decisions", content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"


def _filter_base(**kw: Any) -> dict[str, Any]:
    req = yc_request(**kw)
    props = dict(req["resource"]["properties"])
    props.pop("category")
    return {"subject": req["subject"], "action": req["action"], "context": req["context"],
            "resource": {"type": "dossier_item", "properties": props}}


def test_filter_items_allows_and_explains_the_rest(harness: Harness) -> None:
    body = {**_filter_base(), "items": [
        {"id": "a", "properties": {"category": "groei"}},
        {"id": "b", "properties": {"category": "gespreksverslag", "shielded_from": ["p-1"]}},
        {"id": "c", "properties": {"category": "dagboek"}},
        {"id": "d", "type": "dossier"},
    ]}
    r = harness.post("/v1/filter", body)
    assert r.status_code == 200
    out = r.json()
    assert out["allowed"] == ["a", "d"] and out["denied"] == ["b", "c"]
    items = {x["id"]: x for x in out["items"]}
    assert [x["id"] for x in out["items"]] == ["a", "b", "c", "d"]
    assert items["a"]["context"]["obligations"][0]["id"] == "log_access"
    assert items["b"]["context"]["reasons"][0]["rule"] == "shielded"
    assert items["c"]["context"]["error"]["field"] == "resource.properties.category"
    assert [e.item.id for e in harness.sink.events[-4:]] == ["a", "b", "c", "d"]


def test_filter_categories_for_a_15_year_old_with_a_confidential_agreement(harness: Harness) -> None:
    base = _filter_base(birthdate="2011-01-01")
    base["resource"]["properties"]["confidential_from_parents"] = True
    out = harness.post("/v1/filter", {**base, "categories": list(CATEGORIES)}).json()
    assert out["allowed"] == [] and len(out["denied"]) == len(CATEGORIES)
    base["resource"]["properties"]["confidential_from_parents"] = False
    out = harness.post("/v1/filter", {**base, "categories": ["groei", "vaccinatie"]}).json()
    assert out["allowed"] == ["groei", "vaccinatie"]


@pytest.mark.parametrize("patch, field", [
    ({}, "items"),
    ({"items": [{"id": "a"}], "categories": ["groei"]}, "items"),
    ({"items": "a,b"}, "items"),
    ({"items": [{"properties": {}}]}, "items[0].id"),
    ({"categories": ["groei", 7]}, "categories[1]"),
    ({"categories": ["groei"], "subject": None}, "subject"),
    ({"categories": ["groei"], "resource": []}, "resource"),
])
def test_filter_malformed_is_400(harness: Harness, patch: dict[str, Any], field: str) -> None:
    body = {**_filter_base(), **patch}
    body = {k: v for k, v in body.items() if v is not None}
    r = harness.post("/v1/filter", body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == field


def test_filter_item_limit_is_413(make_harness: Any) -> None:
    with make_harness(max_filter_items=3) as h:
        r = h.post("/v1/filter", {**_filter_base(), "categories": ["groei"] * 4})
        assert r.status_code == 413 and r.json()["errors"][0]["field"] == "categories"


def test_filter_handles_a_thousand_items(harness: Harness) -> None:
    items = [{"id": f"i-{n}", "properties": {"category": CATEGORIES[n % len(CATEGORIES)]}} for n in range(1000)]
    r = harness.client.post("/v1/filter", content=orjson.dumps({**_filter_base(), "items": items}),
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert len(r.json()["items"]) == 1000 and len(r.json()["allowed"]) == 1000
    assert harness.svc.cache.hits >= 1000 - len(CATEGORIES)


def test_resource_search_over_youth_care_categories(harness: Harness) -> None:
    base = _filter_base()
    body = {"subject": base["subject"], "action": base["action"], "context": base["context"],
            "resource": base["resource"], "page": {"limit": 5}}
    first = harness.post("/access/v1/search/resource", body).json()
    assert [x["id"] for x in first["results"]] == list(CATEGORIES[:5])
    assert first["page"]["total"] == len(CATEGORIES) and first["page"]["next_token"]
    seen = [x["id"] for x in first["results"]]
    token = first["page"]["next_token"]
    while token:
        page = harness.post("/access/v1/search/resource", {**body, "page": {"token": token}}).json()
        seen += [x["id"] for x in page["results"]]
        token = page["page"]["next_token"]
    assert seen == list(CATEGORIES)


def test_action_search_over_youth_care_actions(harness: Harness) -> None:
    req = yc_request()
    body = {"subject": req["subject"], "resource": req["resource"], "context": req["context"]}
    assert [x["name"] for x in harness.post("/access/v1/search/action", body).json()["results"]] == ["read", "copy"]
