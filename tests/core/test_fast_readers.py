"""The common-case readers of consents, objections and attestations decide exactly as the field-by-field
readers they stand in front of (issue 15).

``read_consents``, ``read_objections`` and ``read_attestations`` first try a list whose every element is
in its common valid form (no paths, no reader calls) and fall back to reading each field, which words
any error. These tests draw lists of valid and broken elements and compare each reader with its fast
path against the same reader with the fast path switched off: the same set, or the same error (class,
path, wording). ``readers.moment`` is held to ``readers.instant`` on drawn strings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poortwachter.core import vocabulary as v
from poortwachter.core import youth_care
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.errors import RequestError
from poortwachter.core.readers import day, instant, moment, plain_day

IDS = ("c-1", "p-1", "prof-1", "ouder", "professional", "")
SCOPES = ("dossier", "research", "groei", v.CATEGORIES[0], "nope")
NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
JUNK: tuple[Any, ...] = (None, 1, True, 1.5, [], {}, "", "x" * 1025, ["c-1"])


def _moments() -> st.SearchStrategy[str]:
    """Date-times and dates in the shapes the contract takes, near NOW, in several zones; some broken."""
    zones = st.sampled_from([UTC, AMSTERDAM, timezone(timedelta(hours=-5)), timezone(timedelta(hours=1)), None])
    when = st.builds(lambda s, z: (NOW + timedelta(seconds=s)).astimezone(z).replace(tzinfo=None if z is None else z)
                     if z is not None else (NOW + timedelta(seconds=s)).replace(tzinfo=None),
                     st.integers(-10**8, 10**6), zones)
    text = when.map(lambda d: d.isoformat()) | when.map(lambda d: d.isoformat(timespec="minutes")) \
        | when.map(lambda d: d.date().isoformat())
    broken = st.sampled_from(["2026-02-30T10:00:00+01:00", "1899-12-31T23:00:00Z", "2026-03-29 01:00:00Z",
                              "20260329T010000Z", "2026-W13-7", "2026-03-29T01:00:00+0100", "2026-03-29T24:00:00",
                              "\uff12026-03-29", "1850-01-01", "2026-03-29T01:00:00.1234567890+01:00"])
    return _mostly(text, broken, 3)


def _mostly(valid: st.SearchStrategy[Any], junk: st.SearchStrategy[Any], odds: int) -> st.SearchStrategy[Any]:
    """``valid`` ``odds`` times as often as ``junk``, so whole elements often take the fast path.
    (``st.one_of(s, s, s, junk)`` does not weight: hypothesis drops the repeated branches, which made it 1:1,
    and a consent's four fields all valid at 1 in 16.)"""
    return st.integers(0, odds).flatmap(lambda n: junk if n == 0 else valid)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return _mostly(strategy, st.sampled_from(JUNK), 3)


consents = st.fixed_dictionaries(
    {"given_at": _maybe(_moments()), "by": _maybe(st.sampled_from(IDS)), "for": _maybe(st.sampled_from(IDS)),
     "scope": _maybe(st.sampled_from(SCOPES))},
    optional={"withdrawn_at": _maybe(_moments())})
objections = st.fixed_dictionaries(
    {"by": _maybe(st.sampled_from(IDS)), "scope": _maybe(st.sampled_from(SCOPES))},
    optional={"for": _maybe(st.sampled_from(IDS)), "given_at": _maybe(_moments()), "form": _maybe(st.just("brief")),
              "withdrawn_at": _maybe(_moments())})
attestations = st.fixed_dictionaries(
    {"kind": _maybe(st.sampled_from([*v.ATTESTATIONS[:3], "nope"]))},
    optional={"by": _maybe(st.sampled_from(IDS))})


def _lists(element: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(_mostly(element, st.sampled_from(JUNK), 4), max_size=4),
                     st.sampled_from([None, "x", {}, [{}] * 300]))


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("value", fn())
    except RequestError as exc:
        return ("error", (type(exc).__name__, exc.path, str(exc)))


def _both(fast_name: str, fn: Callable[[], Any]) -> None:
    fast = _outcome(fn)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(youth_care, fast_name, lambda *args: None)  # every list down the field-by-field readers
        slow = _outcome(fn)
    assert fast == slow


@settings(max_examples=600, deadline=None)
@given(_lists(consents), st.sampled_from([None, "groei", v.CATEGORIES[0]]), st.sampled_from([None, "care", "research"]))
def test_consents_fast_path_equals_the_field_readers(items: Any,
                                                     category: str | None, purpose: str | None) -> None:
    context = {"consents": items}
    _both("_valid_consents", lambda: youth_care.read_consents(
        context, date(2010, 5, 1), NOW, {"prof-1", "professional", "ouder"}, category, purpose))


@settings(max_examples=600, deadline=None)
@given(_lists(objections), st.sampled_from([None, "groei"]), st.sampled_from([None, "care", "research"]),
       st.sampled_from(["person", "professional"]))
def test_objections_fast_path_equals_the_field_readers(items: Any,
                                                       category: str | None, purpose: str | None, acting: str) -> None:
    context = {"objections": items}
    _both("_valid_objections", lambda: youth_care.read_objections(
        context, NOW, acting, {"prof-1", "professional", "ouder"}, category, purpose))


@settings(max_examples=400, deadline=None)
@given(_lists(attestations))
def test_attestations_fast_path_equals_the_field_readers(items: Any) -> None:
    fast = _outcome(lambda: youth_care.read_attestations({"attestations": items}))
    slow = _outcome(lambda: youth_care.read_attestations(
        {"attestations": _Unlisted(items) if isinstance(items, list) else items}))
    assert fast == slow
    assert fast[0] != "value" or list(fast[1]) == list(slow[1])  # the same order: the facts are added in it


class _Unlisted(list):  # type: ignore[type-arg]
    """A list the fast path does not take (not exactly a list), which the field readers read as one."""


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_moments(), st.text(max_size=30), st.sampled_from(JUNK)))
def test_moment_is_instants_common_case(value: Any) -> None:
    found = moment(value)
    read = _outcome(lambda: instant({"t": value}, "t", "p"))
    if found is not None:
        assert read == ("value", found)
        assert found.tzinfo is not None
    else:  # what moment leaves to instant: an error, an absent value, or a bare date (its midnight)
        assert read[0] == "error" or value is None or (type(value) is str and len(value) == 10), (value, read)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_moments(), st.dates().map(lambda d: d.isoformat()), st.text(max_size=12), st.sampled_from(JUNK)))
def test_plain_day_is_days_common_case(value: Any) -> None:
    found = plain_day(value)
    assert plain_day(value) == found  # read again: remembered, or again not a plain day
    read = _outcome(lambda: day({"d": value}, "d", "p"))
    if found is not None:
        assert read == ("value", found)
    else:  # what plain_day leaves to day: an error, an absent value, or a date-time (its date as written)
        assert read[0] == "error" or value is None or (type(value) is str and len(value) > 10), (value, read)


def test_plain_day_remembers_only_dates_and_at_most_max_days(monkeypatch: pytest.MonkeyPatch) -> None:
    from poortwachter.core import readers

    monkeypatch.setattr(readers, "MAX_DAYS", 3)
    monkeypatch.setattr(readers, "_days", {})
    for bad in ("2026-02-30", "1899-12-31", "2026-W01-1", "20260101"):
        assert plain_day(bad) is None
    assert readers._days == {}
    days = [f"2026-01-0{d}" for d in range(1, 8)]
    for text in days:
        assert plain_day(text) == date.fromisoformat(text)
        assert len(readers._days) <= 3
    assert plain_day(days[-1]) == date(2026, 1, 7) and days[-1] in readers._days
