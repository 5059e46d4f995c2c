"""Hypothesis strategies: valid youth-care requests in the contract vocabulary, drawn from the closed
sets of poortwachter.core.vocabulary (so the generator follows the vocabulary when it grows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from poortwachter.core import vocabulary as v

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
IDS = ("c-1", "p-1", "p-2", "p-3", "prof-1", "prof-2", "org-1")
ROLES = (*v.RELATIONS, *v.DISCIPLINES, *v.ORGANISATION_KINDS, *v.SUBJECT_TYPES)
SCOPES = (*v.CATEGORIES, "dossier", "research")
ZONES = (UTC, AMSTERDAM, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)), None)

T = TypeVar("T")
bools = st.booleans()

# An optional value is absent half the time, as ``st.one_of(st.none(), strategy)`` would draw it, and
# shrinks to absent; the two helpers below draw exactly those values with those odds, cheaper (issue 14):
# a one_of costs three nested draws (the branch, its index, the value), ~30% of the time per request.


def optional_of(values: Sequence[Any]) -> st.SearchStrategy[Any]:
    """``one_of(none(), sampled_from(values))`` as one draw: ``None`` in the first half of the choices,
    so it is as likely as the values together and is where shrinking goes."""
    values = tuple(values)
    return st.sampled_from((None,) * len(values) + values)


def maybe(draw: st.DrawFn, strategy: st.SearchStrategy[T], then: Callable[[T], Any] | None = None) -> Any:
    """``draw(one_of(none(), strategy.map(then)))`` as a boolean and the value (a strategy that depends
    on an earlier draw is then built only when it is drawn, not wrapped in a one_of and a map)."""
    if not draw(bools):
        return None
    value = draw(strategy)
    return value if then is None else then(value)


# Every strategy that does not depend on an earlier draw is built once, here: a strategy built
# inside a composite is built, validated and cached again for every example, which cost more than
# the rest of a property test (tests/core/test_properties.py: ~2.5x the time per example).


@st.composite
def instants(draw: st.DrawFn, lo: date = date(2019, 1, 1), hi: date = date(2031, 12, 31)) -> datetime:
    day = draw(st.dates(lo, hi))
    seconds = draw(_SECONDS_OF_DAY)
    local = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    zone = draw(_ZONE)
    return local if zone is None else local.replace(tzinfo=zone)


_SECONDS_OF_DAY = st.integers(0, 86_399)
_ZONE = st.sampled_from(ZONES)
_INSTANT = instants()


def iso(moment: datetime, as_date: bool = False) -> str:
    return moment.date().isoformat() if as_date else moment.isoformat()


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in d.items() if x is not None}


_ID = st.sampled_from(IDS)
_SUBJECT_TYPE = st.sampled_from(v.SUBJECT_TYPES)
_OPTIONAL_BOOL = optional_of((False, True))
_RELATION = optional_of(v.RELATIONS)
_DISCIPLINE = optional_of(v.DISCIPLINES)
_TEAM = optional_of((*v.TEAMS, "jgz-team-noord"))
_ORGANISATION_KIND = optional_of(v.ORGANISATION_KINDS)


@st.composite
def parties(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    kind = kind or draw(_SUBJECT_TYPE)
    props: dict[str, Any] = {"identity_verified": draw(_OPTIONAL_BOOL)}
    if kind == "person":
        props |= {"relation": draw(_RELATION), "gezag": draw(_OPTIONAL_BOOL)}
    elif kind == "professional":
        props |= {"discipline": draw(_DISCIPLINE), "treatment_relation": draw(_OPTIONAL_BOOL), "team": draw(_TEAM)}
    else:
        props |= {"kind": draw(_ORGANISATION_KIND), "in_care": draw(_OPTIONAL_BOOL)}
    return {"type": kind, "id": draw(_ID), "properties": _drop_none(props)}


_PARTY = parties()
_AROUND = st.integers(-400 * 86_400, 30 * 86_400)  # seconds from the request's time
_FOR = st.sampled_from(IDS + ROLES)
_SCOPE = st.sampled_from(SCOPES)


@st.composite
def _permission_draws(draw: st.DrawFn, withdrawable: bool) -> list[Any]:
    """The choices of one consent or objection, before they meet the request's time and birthdate."""
    choices: list[Any] = [draw(_AROUND), draw(_ID), draw(_FOR), draw(_SCOPE), draw(bools)]
    if withdrawable:
        choices.append(draw(_AROUND) if draw(bools) else None)
    else:
        choices.extend(draw(bools) for _ in ("for", "given_at"))
    return choices


def permission(choices: list[Any], now: datetime, born: date, withdrawable: bool) -> dict[str, Any]:
    """A consent (withdrawable) or an objection (its `for` and `given_at` optional), never before birth."""
    given = max(now + timedelta(seconds=choices[0]),
                datetime.combine(born + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo))
    item = {"by": choices[1], "for": choices[2], "scope": choices[3], "given_at": iso(given, choices[4])}
    if withdrawable:
        if choices[5] is not None:
            item["withdrawn_at"] = iso(now + timedelta(seconds=choices[5]))
    else:
        for optional_field, dropped in zip(("for", "given_at"), choices[5:]):
            if dropped:
                del item[optional_field]
    return item


_CONSENTS = st.lists(_permission_draws(True), max_size=4)
_OBJECTIONS = st.lists(_permission_draws(False), max_size=2)
_ACTION = st.sampled_from(v.ACTIONS)
_ONE_IN_TEN = st.integers(0, 9)
_SETTING = st.sampled_from((*v.SETTINGS, "huisbezoek"))
_TRANSFER_REASON = optional_of(v.TRANSFER_REASONS)
_RESOURCE_TYPE = st.sampled_from(v.RESOURCE_TYPES)
_CATEGORY = st.sampled_from(v.CATEGORIES)
_OPTIONAL_CATEGORY = optional_of(v.CATEGORIES)
_MEASURES = st.lists(st.sampled_from(v.MEASURES), unique=True)  # each optional: drawn with maybe()
_SOME_IDS = st.lists(_ID, unique=True, max_size=3)
_DOSSIER_TYPE = st.sampled_from(v.DOSSIER_TYPES)
_AUTHOR = st.fixed_dictionaries({"id": _ID}, optional={"kind": st.sampled_from(v.AUTHOR_KINDS)})
_DAY = st.dates(date(1990, 1, 1), date(2031, 1, 1))
_ABOUT = st.fixed_dictionaries({"id": _ID}, optional={"relation": st.sampled_from(v.RELATIONS)})
_PURPOSE = optional_of(v.PURPOSES)
_CHANNEL = optional_of((*v.CHANNELS, "app"))
_AUTHN_LEVEL = optional_of(v.AUTHN_LEVELS)
_ATTESTATIONS = st.lists(st.fixed_dictionaries({"kind": st.sampled_from(v.ATTESTATIONS)}, optional={"by": _ID}),
                         max_size=3)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request the youth-care vocabulary accepts (every field valid; optional ones present or not)."""
    now = draw(_INSTANT)
    today = now.date()  # at most a day off the Amsterdam date: keep the birthdate a day earlier
    birth = draw(st.dates(date(1990, 1, 1), today - timedelta(days=1)))
    action = draw(_ACTION)
    action_props: dict[str, Any] = {}
    if action == "disclose" or draw(_ONE_IN_TEN) == 0:
        action_props["recipient"] = draw(_PARTY)
    if draw(bools):
        action_props["setting"] = draw(_SETTING)
    if draw(bools):
        action_props["transfer"] = _drop_none({"reason": draw(_TRANSFER_REASON), "new_school_known": draw(_OPTIONAL_BOOL)})
    resource_type = draw(_RESOURCE_TYPE)
    category = draw(_CATEGORY) if resource_type == "dossier_item" else draw(_OPTIONAL_CATEGORY)
    client = _drop_none({
        "id": "c-1", "birthdate": birth.isoformat(), "deceased": draw(_OPTIONAL_BOOL),
        "date_of_death": maybe(draw, st.dates(birth, date(2032, 1, 1)), date.isoformat),
        "wilsonbekwaam": draw(_OPTIONAL_BOOL),
        "measures": maybe(draw, _MEASURES),
        "gezaghebbenden": maybe(draw, _SOME_IDS),
    })
    props = _drop_none({
        "dossier_type": draw(_DOSSIER_TYPE),
        "category": category,
        "client": client,
        "author": maybe(draw, _AUTHOR),
        "shielded_from": maybe(draw, _SOME_IDS),
        "confidential_from_parents": draw(_OPTIONAL_BOOL),
        "last_change": maybe(draw, _DAY, date.isoformat),
        "treatment_end": maybe(draw, _DAY, date.isoformat),
        "about": maybe(draw, _ABOUT),
    })
    context = _drop_none({
        "time": iso(now),
        "purpose": draw(_PURPOSE),
        "channel": draw(_CHANNEL),
        "authn_level": draw(_AUTHN_LEVEL),
        "consents": [permission(c, now, birth, True) for c in draw(_CONSENTS)],
        "objections": [permission(c, now, birth, False) for c in draw(_OBJECTIONS)],
        "attestations": draw(_ATTESTATIONS),
    })
    return {
        "subject": draw(_PARTY),
        "action": {"name": action, **({"properties": action_props} if action_props else {})},
        "resource": {"type": resource_type, "id": "d-1/x", "properties": props},
        "context": context,
    }
