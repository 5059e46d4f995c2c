"""Hypothesis strategies for the authoring tests: random derived facts (consistent the way
core.facts.derive makes them) and random valid youth-care requests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from poortwachter.core import vocabulary as v
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.policy.model import Bundle
from poortwachter.core.policy.values import FactValue

INTS = (-1, 0, 1, 3, 4, 5, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 30, 47, 48, 60)
STRINGS = ("alice", "bob", "admin", "user", "record", "archived", "active", "x-other")


def consistent(facts: dict[str, FactValue], bundle: Bundle) -> dict[str, FactValue]:
    """Make random youth-care facts ones a request could produce (see core.facts.derive)."""
    if not bundle.vocabulary.youth_care:
        return facts
    f = dict(facts)
    f["client.age"] = max(int(f["client.age"]), 0)
    if f["consent.all_gezag"]:
        f["consent.gezag"] = True
    if f["resource.type"] == "dossier_item" and f["resource.category"] == v.NONE:
        f["resource.category"] = "gespreksverslag"
    if f["action.name"] == "disclose" and f["recipient.type"] == v.NONE:
        f["recipient.type"] = "organisation"
    if f["recipient.type"] == v.NONE:
        for k in ("relation", "discipline", "team", "kind"):
            f[f"recipient.{k}"] = v.NONE
        for k in ("gezag", "treatment_relation", "in_care", "is_client"):
            f[f"recipient.{k}"] = False
    return with_consent(f, bundle)


def with_consent(facts: dict[str, FactValue], bundle: Bundle) -> dict[str, FactValue]:
    """``consent.valid`` as ``bundle``'s consent_by_age derives it."""
    if not bundle.vocabulary.youth_care:
        return facts
    f = dict(facts)
    band = next(b for b in bundle.consent_by_age if b.below is None or int(f["client.age"]) < b.below)
    valid = all(f[f"consent.{p}"] for p in band.from_)
    wb = getattr(band, "wilsonbekwaam", ())
    if not valid and wb and f["client.wilsonbekwaam"]:
        valid = all(f[f"consent.{p}"] for p in wb)
    f["consent.valid"] = valid
    return f


def fact_values(bundle: Bundle) -> st.SearchStrategy[dict[str, FactValue]]:
    """Every fact of the bundle's vocabulary, drawn from its domain (attestations may be absent)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for name, spec in bundle.vocabulary.facts.items():
        if spec.kind == "bool":
            parts[name] = st.booleans()
        elif spec.kind == "int":
            parts[name] = st.sampled_from(INTS)
        elif spec.kind == "enum":
            values = [x for x in spec.values if not (name == "subject.type" and x == v.NONE)]
            parts[name] = st.sampled_from(values)
        else:
            parts[name] = st.sampled_from(STRINGS + (v.NONE,))
    return st.fixed_dictionaries(parts).map(lambda f: consistent(f, bundle))


IDS = ("c-1", "p-1", "p-2", "prof-1", "org-1")
bools = st.booleans()


def _opt(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in d.items() if x is not None}


@st.composite
def parties(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(v.SUBJECT_TYPES))
    props = _clean({
        "identity_verified": draw(_opt(bools)),
        "relation": draw(_opt(st.sampled_from(v.RELATIONS))) if kind == "person" else None,
        "gezag": draw(_opt(bools)) if kind == "person" else None,
        "discipline": draw(_opt(st.sampled_from(v.DISCIPLINES))) if kind == "professional" else None,
        "treatment_relation": draw(_opt(bools)) if kind == "professional" else None,
        "team": draw(_opt(st.sampled_from(v.TEAMS))) if kind == "professional" else None,
        "kind": draw(_opt(st.sampled_from(v.ORGANISATION_KINDS))) if kind == "organisation" else None,
        "in_care": draw(_opt(bools)),
    })
    return {"type": kind, "id": draw(st.sampled_from(IDS)), "properties": props}


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid youth-care request (ages around the thresholds, consents, attestations …)."""
    now = datetime(2026, 6, 15, 12, 0, tzinfo=AMSTERDAM)
    age_days = draw(st.sampled_from((0, 3, 4, 11, 12, 15, 16, 17, 18, 25, 60))) * 365 + draw(st.integers(1, 360))
    birth = now.date() - timedelta(days=age_days)
    action = draw(st.sampled_from(v.ACTIONS))
    action_props: dict[str, Any] = {}
    if action == "disclose" or draw(st.integers(0, 5)) == 0:
        action_props["recipient"] = draw(parties())
    if draw(bools):
        action_props["setting"] = draw(st.sampled_from(v.SETTINGS))
    if draw(bools):
        action_props["transfer"] = _clean({"reason": draw(_opt(st.sampled_from(v.TRANSFER_REASONS))),
                                           "new_school_known": draw(_opt(bools))})
    rtype = draw(st.sampled_from(v.RESOURCE_TYPES))
    category = draw(st.sampled_from(v.CATEGORIES)) if rtype == "dossier_item" else draw(
        _opt(st.sampled_from(v.CATEGORIES)))
    years = st.integers(0, 30).map(lambda n: date(2026 - n, 3, 1).isoformat())

    def perm(withdraw: bool) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {"by": st.sampled_from(IDS), "for": st.sampled_from(IDS + v.RELATIONS + v.ORGANISATION_KINDS),
             "scope": st.sampled_from((category or "dossier", "dossier", "research")),
             "given_at": st.sampled_from((max("2025-01-01", birth.isoformat()), "2027-01-01"))},  # not before birth
            optional={"withdrawn_at": st.sampled_from(("2026-01-01", "2027-01-01"))} if withdraw else {})

    props = _clean({
        "dossier_type": draw(st.sampled_from(v.DOSSIER_TYPES)),
        "category": category,
        "client": _clean({
            "id": "c-1", "birthdate": birth.isoformat(), "deceased": draw(_opt(bools)),
            "wilsonbekwaam": draw(_opt(bools)),
            "measures": draw(_opt(st.lists(st.sampled_from(v.MEASURES), unique=True))),
            "gezaghebbenden": draw(_opt(st.lists(st.sampled_from(IDS), unique=True, max_size=3))),
        }),
        "author": draw(_opt(st.fixed_dictionaries({"id": st.sampled_from(IDS)},
                                                  optional={"kind": st.sampled_from(v.AUTHOR_KINDS)}))),
        "shielded_from": draw(_opt(st.lists(st.sampled_from(IDS), unique=True, max_size=2))),
        "confidential_from_parents": draw(_opt(bools)),
        "last_change": draw(_opt(years)),
        "treatment_end": draw(_opt(years)),
        "about": draw(_opt(st.fixed_dictionaries({"id": st.sampled_from(IDS)},
                                                 optional={"relation": st.sampled_from(v.RELATIONS)}))),
    })
    context = _clean({
        "time": now.isoformat(),
        "purpose": draw(_opt(st.sampled_from(v.PURPOSES))),
        "channel": draw(_opt(st.sampled_from(v.CHANNELS))),
        "authn_level": draw(_opt(st.sampled_from(v.AUTHN_LEVELS))),
        "consents": draw(st.lists(perm(True), max_size=3)),
        "objections": draw(st.lists(perm(False), max_size=2)),
        "attestations": draw(st.lists(st.fixed_dictionaries({"kind": st.sampled_from(v.ATTESTATIONS)}), max_size=3)),
    })
    return {
        "subject": draw(parties()),
        "action": {"name": action, **({"properties": action_props} if action_props else {})},
        "resource": {"type": rtype, "id": "d-1/x", "properties": props},
        "context": context,
    }
