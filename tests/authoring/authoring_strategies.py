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
    """Every fact of the bundle's vocabulary, drawn from its domain (attestations may be absent).

    Built once per bundle object (a test may ask for it in every example)."""
    found = _FACT_VALUES.get(id(bundle))
    if found is None:
        found = _FACT_VALUES[id(bundle)] = (bundle, _fact_values(bundle))
    return found[1]


_FACT_VALUES: dict[int, tuple[Bundle, st.SearchStrategy[dict[str, FactValue]]]] = {}
"""id → (the bundle, kept so its id stays its own; its strategy)."""


def _fact_values(bundle: Bundle) -> st.SearchStrategy[dict[str, FactValue]]:
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


# Strategies are built once, here: one built inside a composite is built, validated and cached
# again for every example (that cost more than the checks of the diff's property tests).
_ID = st.sampled_from(IDS)
_OPTIONAL_BOOL = _opt(bools)
_SUBJECT_TYPE = st.sampled_from(v.SUBJECT_TYPES)
_RELATION = _opt(st.sampled_from(v.RELATIONS))
_DISCIPLINE = _opt(st.sampled_from(v.DISCIPLINES))
_TEAM = _opt(st.sampled_from(v.TEAMS))
_ORGANISATION_KIND = _opt(st.sampled_from(v.ORGANISATION_KINDS))


@st.composite
def parties(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(_SUBJECT_TYPE)
    props = _clean({
        "identity_verified": draw(_OPTIONAL_BOOL),
        "relation": draw(_RELATION) if kind == "person" else None,
        "gezag": draw(_OPTIONAL_BOOL) if kind == "person" else None,
        "discipline": draw(_DISCIPLINE) if kind == "professional" else None,
        "treatment_relation": draw(_OPTIONAL_BOOL) if kind == "professional" else None,
        "team": draw(_TEAM) if kind == "professional" else None,
        "kind": draw(_ORGANISATION_KIND) if kind == "organisation" else None,
        "in_care": draw(_OPTIONAL_BOOL),
    })
    return {"type": kind, "id": draw(_ID), "properties": props}


_PARTY = parties()
_AGE_YEARS = st.sampled_from((0, 3, 4, 11, 12, 15, 16, 17, 18, 25, 60))
_AGE_DAYS = st.integers(1, 360)
_ACTION = st.sampled_from(v.ACTIONS)
_ONE_IN_SIX = st.integers(0, 5)
_SETTING = st.sampled_from(v.SETTINGS)
_TRANSFER_REASON = _opt(st.sampled_from(v.TRANSFER_REASONS))
_RESOURCE_TYPE = st.sampled_from(v.RESOURCE_TYPES)
_CATEGORY = st.sampled_from(v.CATEGORIES)
_OPTIONAL_CATEGORY = _opt(_CATEGORY)
_YEARS = _opt(st.integers(0, 30).map(lambda n: date(2026 - n, 3, 1).isoformat()))
_ITEM_SCOPE, _NOT_BEFORE_BIRTH = "(the item's category)", "(2025-01-01, or the birthdate if later)"


def _permissions(withdraw: bool, max_size: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Consents or objections; the scope and date that depend on the request are placeholders."""
    return st.lists(st.fixed_dictionaries(
        {"by": _ID, "for": st.sampled_from(IDS + v.RELATIONS + v.ORGANISATION_KINDS),
         "scope": st.sampled_from((_ITEM_SCOPE, "dossier", "research")),
         "given_at": st.sampled_from((_NOT_BEFORE_BIRTH, "2027-01-01"))},
        optional={"withdrawn_at": st.sampled_from(("2026-01-01", "2027-01-01"))} if withdraw else {}),
        max_size=max_size)


_CONSENTS, _OBJECTIONS = _permissions(True, 3), _permissions(False, 2)
_DOSSIER_TYPE = st.sampled_from(v.DOSSIER_TYPES)
_MEASURES = _opt(st.lists(st.sampled_from(v.MEASURES), unique=True))
_GEZAGHEBBENDEN = _opt(st.lists(_ID, unique=True, max_size=3))
_AUTHOR = _opt(st.fixed_dictionaries({"id": _ID}, optional={"kind": st.sampled_from(v.AUTHOR_KINDS)}))
_SHIELDED_FROM = _opt(st.lists(_ID, unique=True, max_size=2))
_ABOUT = _opt(st.fixed_dictionaries({"id": _ID}, optional={"relation": st.sampled_from(v.RELATIONS)}))
_PURPOSE = _opt(st.sampled_from(v.PURPOSES))
_CHANNEL = _opt(st.sampled_from(v.CHANNELS))
_AUTHN_LEVEL = _opt(st.sampled_from(v.AUTHN_LEVELS))
_ATTESTATIONS = st.lists(st.fixed_dictionaries({"kind": st.sampled_from(v.ATTESTATIONS)}), max_size=3)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid youth-care request (ages around the thresholds, consents, attestations …)."""
    now = datetime(2026, 6, 15, 12, 0, tzinfo=AMSTERDAM)
    age_days = draw(_AGE_YEARS) * 365 + draw(_AGE_DAYS)
    birth = now.date() - timedelta(days=age_days)
    action = draw(_ACTION)
    action_props: dict[str, Any] = {}
    if action == "disclose" or draw(_ONE_IN_SIX) == 0:
        action_props["recipient"] = draw(_PARTY)
    if draw(bools):
        action_props["setting"] = draw(_SETTING)
    if draw(bools):
        action_props["transfer"] = _clean({"reason": draw(_TRANSFER_REASON), "new_school_known": draw(_OPTIONAL_BOOL)})
    rtype = draw(_RESOURCE_TYPE)
    category = draw(_CATEGORY) if rtype == "dossier_item" else draw(_OPTIONAL_CATEGORY)
    placeholders = {_ITEM_SCOPE: category or "dossier", _NOT_BEFORE_BIRTH: max("2025-01-01", birth.isoformat())}

    def filled(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: placeholders.get(x, x) for k, x in p.items()} for p in permissions]

    props = _clean({
        "dossier_type": draw(_DOSSIER_TYPE),
        "category": category,
        "client": _clean({
            "id": "c-1", "birthdate": birth.isoformat(), "deceased": draw(_OPTIONAL_BOOL),
            "wilsonbekwaam": draw(_OPTIONAL_BOOL),
            "measures": draw(_MEASURES),
            "gezaghebbenden": draw(_GEZAGHEBBENDEN),
        }),
        "author": draw(_AUTHOR),
        "shielded_from": draw(_SHIELDED_FROM),
        "confidential_from_parents": draw(_OPTIONAL_BOOL),
        "last_change": draw(_YEARS),
        "treatment_end": draw(_YEARS),
        "about": draw(_ABOUT),
    })
    context = _clean({
        "time": now.isoformat(),
        "purpose": draw(_PURPOSE),
        "channel": draw(_CHANNEL),
        "authn_level": draw(_AUTHN_LEVEL),
        "consents": filled(draw(_CONSENTS)),
        "objections": filled(draw(_OBJECTIONS)),
        "attestations": draw(_ATTESTATIONS),
    })
    return {
        "subject": draw(_PARTY),
        "action": {"name": action, **({"properties": action_props} if action_props else {})},
        "resource": {"type": rtype, "id": "d-1/x", "properties": props},
        "context": context,
    }
