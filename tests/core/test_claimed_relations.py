"""`relation: self` holds only for the client's own id (contract: "a person claiming `self` for someone
else's dossier is a `derde`"): a caller cannot borrow the client's rights by the relation it sends."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.catalog import Catalog
from poortwachter.core.decide import decide
from poortwachter.core.policy.compile import compile_bundle
from poortwachter.core.routing import Routing

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=AMSTERDAM)


@pytest.fixture(scope="module")
def jgz() -> Catalog:
    bundle, _, _ = load_folder(ROOT / "policies" / "nl-jgz")
    return Catalog.of([compile_bundle(bundle, "test")])


def claim_self(request_for, subject_id: str, action: str) -> dict[str, Any]:
    """A 17-year-old's JGZ item; the subject says it is the client (identity checked, over the portal)."""
    return request_for(subject_id=subject_id, action=action, birthdate="2009-03-01",
                       subject_props={"relation": "self", "gezag": False, "identity_verified": True})


@pytest.mark.parametrize("action", ["copy", "destroy"])
def test_only_the_client_is_self_under_nl_jgz(jgz, request_for, action):
    real = decide(jgz, claim_self(request_for, "c-1", action), NOW, Routing.replay())
    assert real.verdict.decision is True, real.verdict.reasons
    assert real.facts["subject.relation"] == "self"
    impostor = decide(jgz, claim_self(request_for, "p-9", action), NOW, Routing.replay())
    assert impostor.verdict.decision is False
    assert impostor.facts["subject.relation"] == "derde"
    assert "jgz.inzage.jeugdige-12-plus" not in impostor.verdict.deciding_rules


def test_a_recipient_claiming_self_is_a_third_party(facts_of, request_for):
    def recipient(ident: str) -> dict[str, Any]:
        return {"type": "person", "id": ident, "properties": {"relation": "self"}}

    kw = {"subject_type": "professional", "subject_id": "prof-1", "action": "disclose"}
    assert facts_of(request_for(**kw, action_props={"recipient": recipient("c-1")}))["recipient.relation"] == "self"
    assert facts_of(request_for(**kw, action_props={"recipient": recipient("p-9")}))["recipient.relation"] == "derde"


def test_other_relations_are_taken_as_sent(facts_of, request_for):
    """Only `self` can be checked against the request itself; the other relations are the caller's word."""
    assert facts_of(request_for(subject_props={"relation": "voogd"}))["subject.relation"] == "voogd"


def test_an_item_about_someone_else_is_not_about_self(facts_of, request_for):
    """`about.relation: self` with another id than the client's is that other person: a third party."""
    def about(ident: str) -> str:
        return str(facts_of(request_for(resource_props={"about": {"id": ident, "relation": "self"}}))
                   ["resource.about_relation"])

    assert (about("c-1"), about("p-9")) == ("self", "derde")


def test_a_consent_for_self_does_not_cover_someone_claiming_self(facts_of, request_for):
    """A consent's `for` matches the corrected relation too, not the claim."""
    consent = {"by": "p-2", "for": "self", "scope": "dossier", "given_at": "2026-01-01"}
    ctx = {"consents": [consent]}
    client = {"gezaghebbenden": ["p-2"]}
    real = facts_of(request_for(subject_id="c-1", subject_props={"relation": "self"}, client=client, context=ctx))
    impostor = facts_of(request_for(subject_id="p-9", subject_props={"relation": "self"}, client=client, context=ctx))
    assert (real["consent.gezag"], impostor["consent.gezag"]) == (True, False)


def test_a_consent_for_none_names_no_one(facts_of, request_for):
    """`none` is the fact value of an absent relation, never a role a consent can name."""
    consent = {"by": "p-2", "for": "none", "scope": "dossier", "given_at": "2026-01-01"}
    f = facts_of(request_for(subject_props={"relation": None}, client={"gezaghebbenden": ["p-2"]},
                             context={"consents": [consent]}))
    assert (f["subject.relation"], f["consent.gezag"]) == ("none", False)
