"""The caller does not choose the law (issue 11): routing by dossier type, the clock, pinned versions.

Each test is an attack that worked before the fix: a jeugdhulp dossier decided under the JGZ law, a
backdated context.time or a pinned old version bringing back the rules before the Wet digitale overheid.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from poortwachter.artifacts import embedded
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.service.store import Snapshot

from .conftest import Harness, MakeHarness, yc_request

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=AMSTERDAM)
HISTORY_TOKEN = "history-token-for-tests-0123456789"


@pytest.fixture
def law(make_harness: MakeHarness) -> Iterator[Harness]:
    """The embedded bundles with the production defaults for routing, clock and pinning."""
    with make_harness(bundles=embedded.bundle_dir(), dossier_type_bundles={"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp"},
                      max_clock_skew=300, allow_pinned_versions=False, history_token=HISTORY_TOKEN,
                      clock=lambda: NOW) as h:
        yield h


def portal_login(dossier_type: str = "jgz", time: str = "2026-11-22T10:01:00+01:00", **context: Any) -> dict[str, Any]:
    """A mother with gezag reads her 11-year-old's growth chart through the portal with a password only."""
    return {
        "subject": {"type": "person", "id": "moeder-noor",
                    "properties": {"relation": "ouder", "gezag": True, "identity_verified": True}},
        "action": {"name": "read"},
        "resource": {"type": "dossier_item", "id": "dd-noor/groei", "properties": {
            "dossier_type": dossier_type, "category": "groei",
            "client": {"id": "noor", "birthdate": "2015-03-10", "gezaghebbenden": ["moeder-noor"]}}},
        "context": {"time": time, "channel": "klantportaal", "authn_level": "laag", **context},
    }


def _problem(r: Any, kind: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    body: dict[str, Any] = r.json()
    assert body["type"].endswith("/" + kind), body
    return body


def test_each_dossier_type_is_decided_by_its_own_bundle(law: Harness) -> None:
    for dossier_type, bundle in (("jgz", "nl-jgz"), ("jeugdhulp", "nl-jeugdhulp")):
        r = law.post("/access/v1/evaluation", portal_login(dossier_type))
        assert r.status_code == 200, r.text
        assert r.json()["context"]["bundle"]["name"] == bundle


def test_a_bundle_that_does_not_govern_the_dossier_type_is_refused(law: Harness) -> None:
    body = _problem(law.post("/access/v1/evaluation", portal_login("jeugdhulp", bundle="nl-jgz")), "dossier-type")
    assert "'jeugdhulp'" in body["detail"] and "nl-jgz governs jgz" in body["detail"]
    assert "jeugdhulp → nl-jeugdhulp" in body["detail"]  # what is configured
    fixture = _problem(law.post("/access/v1/evaluation", portal_login("jgz", bundle="bench-reference")), "dossier-type")
    assert "bench-reference governs bench" in fixture["detail"]


def test_an_unconfigured_dossier_type_is_refused(make_harness: MakeHarness) -> None:
    with make_harness(bundles=embedded.bundle_dir(), dossier_type_bundles={"jgz": "nl-jgz"}, clock=lambda: NOW) as h:
        body = _problem(h.post("/access/v1/evaluation", portal_login("jeugdhulp")), "dossier-type")
        assert body["errors"][0]["field"] == "resource.properties.dossier_type"
        assert "configured: jgz → nl-jgz" in body["detail"]


def test_in_a_batch_the_refused_item_gets_its_error_in_place(law: Harness) -> None:
    items = [portal_login("jgz"), portal_login("jeugdhulp", bundle="nl-jgz"), portal_login("jeugdhulp")]
    r = law.post("/access/v1/evaluations", {"evaluations": items})
    answers = r.json()["evaluations"]
    assert [a["context"].get("error", {}).get("field") for a in answers] == [None, "context.bundle", None]
    assert answers[2]["context"]["bundle"]["name"] == "nl-jeugdhulp"


def test_a_backdated_clock_does_not_bring_back_the_old_law(law: Harness) -> None:
    now = law.post("/access/v1/evaluation", portal_login()).json()
    assert now["decision"] is False and now["context"]["reasons"][0]["rule"] == "jgz.portaal.tweefactor-vereist"
    body = _problem(law.post("/access/v1/evaluation", portal_login(time="2023-06-30T20:00:00+02:00")), "clock-skew")
    assert "2023-06-30T20:00:00+02:00" in body["detail"] and NOW.isoformat() in body["detail"]  # both times
    future = portal_login(time="2027-01-01T00:00:00+01:00")
    _problem(law.post("/access/v1/evaluation", future), "clock-skew")


def test_a_backdated_item_in_a_batch_is_refused_in_place(law: Harness) -> None:
    """A batch reads the clock once for all its items; every item's context.time is still held to it:
    a backdated one is an error in its place, never a decision by the old law."""
    old = portal_login(time="2023-06-30T20:00:00+02:00")
    r = law.post("/access/v1/evaluations", {"evaluations": [portal_login(), old, portal_login()]})
    assert r.status_code == 200
    first, backdated, last = r.json()["evaluations"]
    assert [first["decision"], backdated["decision"], last["decision"]] == [False, False, False]
    assert first["context"]["reasons"][0]["rule"] == last["context"]["reasons"][0]["rule"] == \
        "jgz.portaal.tweefactor-vereist"
    assert backdated["context"]["error"]["status"] == 400 and "reasons" not in backdated["context"]
    assert "2023-06-30T20:00:00+02:00" in backdated["context"]["error"]["message"]


def test_a_pinned_version_is_refused_unless_allowed(law: Harness, make_harness: MakeHarness) -> None:
    body = _problem(law.post("/access/v1/evaluation", portal_login(bundle="nl-jgz@2020.1.0")), "pinned-version")
    assert body["errors"][0]["field"] == "context.bundle"
    with make_harness(bundles=embedded.bundle_dir(), allow_pinned_versions=True, clock=lambda: NOW) as h:
        r = h.post("/access/v1/evaluation", portal_login(bundle="nl-jgz@2026.1.0"))
        assert r.status_code == 200 and r.json()["context"]["bundle"]["version"] == "2026.1.0"


def test_refusals_are_counted_by_cause(law: Harness) -> None:
    def count(kind: str) -> float:
        for line in law.client.get("/metrics").text.splitlines():
            if line.startswith("poortwachter_request_errors_total{") and f'kind="{kind}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = {k: count(k) for k in ("clock-skew", "pinned-version", "dossier-type")}
    law.post("/access/v1/evaluation", portal_login(time="2023-06-30T20:00:00+02:00"))
    law.post("/access/v1/evaluation", portal_login(bundle="nl-jgz@2020.1.0"))
    law.post("/access/v1/evaluations", {"evaluations": [portal_login("jeugdhulp", bundle="nl-jgz")]})
    assert {k: count(k) - v for k, v in before.items()} == {"clock-skew": 1, "pinned-version": 1, "dossier-type": 1}


def test_the_past_is_asked_with_the_history_token_and_logged_as_a_look(law: Harness) -> None:
    then = portal_login(time="2023-06-30T20:00:00+02:00")
    assert law.post("/v1/decisions", then).status_code == 400  # without the history token: the clock holds
    auth = {"Authorization": f"Bearer {HISTORY_TOKEN}"}
    r = law.post("/v1/decisions", then, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["decision"] is True and r.json()["context"]["bundle"]["version"] == "2020.1.0"
    pinned = law.post("/v1/decisions", portal_login(bundle="nl-jgz@2020.1.0"), headers=auth).json()
    assert pinned["context"]["bundle"]["version"] == "2020.1.0"
    record = next(e for e in law.sink.events if e.decision_id == r.json()["context"]["decision_id"])
    assert record.endpoint == "history" and record.as_of.startswith("2023-06-30")
    assert record.time == NOW.isoformat()  # both times: when it was asked and the moment asked about
    wrong = law.post("/v1/decisions", then, headers={"Authorization": "Bearer not-the-history-token-000"})
    _problem(wrong, "clock-skew")  # another token is no history token: the clock holds


def test_without_a_history_token_the_past_cannot_be_asked(make_harness: MakeHarness) -> None:
    with make_harness(bundles=embedded.bundle_dir(), max_clock_skew=300, clock=lambda: NOW) as h:
        then = copy.deepcopy(portal_login(time="2023-06-30T20:00:00+02:00"))
        _problem(h.post("/v1/decisions", then), "clock-skew")


def test_a_batch_is_decided_by_one_revision_even_if_the_bundles_change_midway(harness: Harness) -> None:
    """Issue 17 finding 4: the decider read the snapshot again for every item, so admin changes during a
    batch mixed two revisions. Here the store loses every bundle after the first item: the rest of the
    batch must still be decided, by the revision the batch started with."""
    svc = harness.svc
    decide_item = svc.decider.decide_item
    seen: list[Any] = []

    def swap_after_first(data: Any, call: Any, catalog: Any = None, now: Any = None) -> Any:
        seen.append(catalog)
        svc.store.snapshot = Snapshot.of({}, 999, NOW)  # an admin change lands while the batch runs
        return decide_item(data, call, catalog, now)

    svc.decider.decide_item = swap_after_first
    r = harness.post("/access/v1/evaluations", {"evaluations": [yc_request()] * 5})
    answers = r.json()["evaluations"]
    assert all("error" not in a["context"] for a in answers), answers
    assert len({a["context"]["bundle"]["revision"] for a in answers}) == 1
    assert all(c is seen[0] for c in seen) and seen[0] is not None
