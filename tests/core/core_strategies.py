"""Hypothesis strategies: valid youth-care requests in the contract vocabulary, drawn from the closed
sets of poortwachter.core.vocabulary (so the generator follows the vocabulary when it grows)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from poortwachter.core import vocabulary as v

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
IDS = ("c-1", "p-1", "p-2", "p-3", "prof-1", "prof-2", "org-1")
ROLES = (*v.RELATIONS, *v.DISCIPLINES, *v.ORGANISATION_KINDS, *v.SUBJECT_TYPES)
SCOPES = (*v.CATEGORIES, "dossier", "research")
ZONES = (UTC, AMSTERDAM, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)), None)

bools = st.booleans()


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def instants(draw: st.DrawFn, lo: date = date(2019, 1, 1), hi: date = date(2031, 12, 31)) -> datetime:
    day = draw(st.dates(lo, hi))
    seconds = draw(st.integers(0, 86_399))
    local = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    zone = draw(st.sampled_from(ZONES))
    return local if zone is None else local.replace(tzinfo=zone)


def iso(moment: datetime, as_date: bool = False) -> str:
    return moment.date().isoformat() if as_date else moment.isoformat()


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in d.items() if x is not None}


@st.composite
def parties(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    kind = kind or draw(st.sampled_from(v.SUBJECT_TYPES))
    props: dict[str, Any] = {"identity_verified": draw(optional(bools))}
    if kind == "person":
        props |= {"relation": draw(optional(st.sampled_from(v.RELATIONS))), "gezag": draw(optional(bools))}
    elif kind == "professional":
        props |= {"discipline": draw(optional(st.sampled_from(v.DISCIPLINES))),
                  "treatment_relation": draw(optional(bools)),
                  "team": draw(optional(st.sampled_from((*v.TEAMS, "jgz-team-noord"))))}
    else:
        props |= {"kind": draw(optional(st.sampled_from(v.ORGANISATION_KINDS))), "in_care": draw(optional(bools))}
    return {"type": kind, "id": draw(st.sampled_from(IDS)), "properties": _drop_none(props)}


@st.composite
def permissions(draw: st.DrawFn, now: datetime, born: date, withdrawable: bool) -> dict[str, Any]:
    """A consent (withdrawable) or an objection (its `for` and `given_at` optional), never before birth."""
    around = st.builds(lambda d: now + timedelta(seconds=d), st.integers(-400 * 86_400, 30 * 86_400))
    given = max(draw(around), datetime.combine(born + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo))
    item = {"by": draw(st.sampled_from(IDS)), "for": draw(st.sampled_from(IDS + ROLES)),
            "scope": draw(st.sampled_from(SCOPES)), "given_at": iso(given, draw(bools))}
    if withdrawable and draw(bools):
        item["withdrawn_at"] = iso(draw(around))
    if not withdrawable:
        for optional_field in ("for", "given_at"):
            if draw(bools):
                del item[optional_field]
    return item


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request the youth-care vocabulary accepts (every field valid; optional ones present or not)."""
    now = draw(instants())
    today = now.date()  # at most a day off the Amsterdam date: keep the birthdate a day earlier
    birth = draw(st.dates(date(1990, 1, 1), today - timedelta(days=1)))
    action = draw(st.sampled_from(v.ACTIONS))
    action_props: dict[str, Any] = {}
    if action == "disclose" or draw(st.integers(0, 9)) == 0:
        action_props["recipient"] = draw(parties())
    if draw(bools):
        action_props["setting"] = draw(st.sampled_from((*v.SETTINGS, "huisbezoek")))
    if draw(bools):
        action_props["transfer"] = _drop_none({"reason": draw(optional(st.sampled_from(v.TRANSFER_REASONS))),
                                               "new_school_known": draw(optional(bools))})
    resource_type = draw(st.sampled_from(v.RESOURCE_TYPES))
    category = draw(st.sampled_from(v.CATEGORIES)) if resource_type == "dossier_item" else draw(
        optional(st.sampled_from(v.CATEGORIES)))
    client = _drop_none({
        "id": "c-1", "birthdate": birth.isoformat(), "deceased": draw(optional(bools)),
        "date_of_death": draw(optional(st.dates(birth, date(2032, 1, 1)).map(date.isoformat))),
        "wilsonbekwaam": draw(optional(bools)),
        "measures": draw(optional(st.lists(st.sampled_from(v.MEASURES), unique=True))),
        "gezaghebbenden": draw(optional(st.lists(st.sampled_from(IDS), unique=True, max_size=3))),
    })
    props = _drop_none({
        "dossier_type": draw(st.sampled_from(v.DOSSIER_TYPES)),
        "category": category,
        "client": client,
        "author": draw(optional(st.fixed_dictionaries({"id": st.sampled_from(IDS)},
                                                      optional={"kind": st.sampled_from(v.AUTHOR_KINDS)}))),
        "shielded_from": draw(optional(st.lists(st.sampled_from(IDS), unique=True, max_size=3))),
        "confidential_from_parents": draw(optional(bools)),
        "last_change": draw(optional(st.dates(date(1990, 1, 1), date(2031, 1, 1)).map(date.isoformat))),
        "treatment_end": draw(optional(st.dates(date(1990, 1, 1), date(2031, 1, 1)).map(date.isoformat))),
        "about": draw(optional(st.fixed_dictionaries({"id": st.sampled_from(IDS)},
                                                     optional={"relation": st.sampled_from(v.RELATIONS)}))),
    })
    context = _drop_none({
        "time": iso(now),
        "purpose": draw(optional(st.sampled_from(v.PURPOSES))),
        "channel": draw(optional(st.sampled_from((*v.CHANNELS, "app")))),
        "authn_level": draw(optional(st.sampled_from(v.AUTHN_LEVELS))),
        "consents": draw(st.lists(permissions(now, birth, True), max_size=4)),
        "objections": draw(st.lists(permissions(now, birth, False), max_size=2)),
        "attestations": draw(st.lists(st.fixed_dictionaries({"kind": st.sampled_from(v.ATTESTATIONS)},
                                                            optional={"by": st.sampled_from(IDS)}), max_size=3)),
    })
    return {
        "subject": draw(parties()),
        "action": {"name": action, **({"properties": action_props} if action_props else {})},
        "resource": {"type": resource_type, "id": "d-1/x", "properties": props},
        "context": context,
    }
