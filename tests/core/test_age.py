"""client.age and client.age_band at every threshold, on 29 February and across time zones / DST.

The age is counted in whole years on the Europe/Amsterdam calendar date of context.time; a child born
on 29 February turns a year older on 1 March in a common year (docs/facts.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from poortwachter.core.calendar import local_date, whole_years
from poortwachter.core.errors import RequestError
from poortwachter.core.request import parse_envelope

NOON = "T12:00:00+01:00"


def age(facts_of, request_for, birthdate: str, time: str) -> tuple[int, str]:
    facts = facts_of(request_for(birthdate=birthdate, time=time))
    return facts["client.age"], facts["client.age_band"]


@pytest.mark.parametrize(("threshold", "band_before", "band_on"), [
    (12, "0-11", "12-15"),
    (16, "12-15", "16-17"),
    (18, "16-17", "18+"),
])
def test_day_before_and_day_of_each_threshold(facts_of, request_for, threshold, band_before, band_on):
    born = f"{2026 - threshold}-05-30"
    assert age(facts_of, request_for, born, "2026-05-29" + NOON) == (threshold - 1, band_before)
    assert age(facts_of, request_for, born, "2026-05-30" + NOON) == (threshold, band_on)
    assert age(facts_of, request_for, born, "2026-05-31" + NOON) == (threshold, band_on)


def test_first_and_last_moment_of_the_birthday_in_amsterdam(facts_of, request_for):
    born = "2014-11-22"
    assert age(facts_of, request_for, born, "2026-11-21T23:59:59.999999+01:00")[0] == 11
    assert age(facts_of, request_for, born, "2026-11-22T00:00:00+01:00")[0] == 12


def test_newborn_is_zero_on_the_day_of_birth(facts_of, request_for):
    assert age(facts_of, request_for, "2026-11-22", "2026-11-22T00:00:00+01:00") == (0, "0-11")


@pytest.mark.parametrize(("time", "expected"), [
    ("2024-02-28" + NOON, 15),   # leap year: not yet
    ("2024-02-29" + NOON, 16),   # leap year: the birthday itself
    ("2024-03-01" + NOON, 16),
])
def test_29_february_birthday_in_a_leap_year(facts_of, request_for, time, expected):
    assert age(facts_of, request_for, "2008-02-29", time)[0] == expected


@pytest.mark.parametrize(("time", "expected"), [
    ("2026-02-28" + NOON, 17),            # common year: 28 February is NOT the birthday
    ("2026-02-28T23:59:59+01:00", 17),
    ("2026-03-01T00:00:00+01:00", 18),    # turns 18 on 1 March
    ("2026-02-28T23:00:00Z", 18),         # 28 Feb in UTC, already 1 March in Amsterdam
    ("2026-02-28T22:59:59Z", 17),
])
def test_29_february_birthday_in_a_common_year_turns_on_1_march(facts_of, request_for, time, expected):
    assert age(facts_of, request_for, "2008-02-29", time)[0] == expected


def test_whole_years_29_february_choice():
    born = date(2012, 2, 29)
    assert whole_years(born, date(2025, 2, 28)) == 12
    assert whole_years(born, date(2025, 3, 1)) == 13
    assert whole_years(born, date(2028, 2, 28)) == 15
    assert whole_years(born, date(2028, 2, 29)) == 16


@pytest.mark.parametrize(("time", "expected"), [
    # summer (CEST, UTC+2): 22:00Z on the 29th is already midnight of the 30th in Amsterdam
    ("2026-05-29T22:00:00Z", 12),
    ("2026-05-29T21:59:59Z", 11),
    ("2026-05-29T23:30:00+00:00", 12),
    # an offset west of UTC: the local date there is the 29th, Amsterdam is already the 30th
    ("2026-05-29T20:30:00-05:00", 12),
    ("2026-05-29T16:59:59-05:00", 11),
    # east of Amsterdam: local date there is the 30th, Amsterdam is still the 29th
    ("2026-05-30T00:30:00+03:00", 11),
    # naive date-time: Amsterdam wall clock
    ("2026-05-30T00:00:00", 12),
    ("2026-05-29T23:59:59", 11),
    # a bare date: midnight in Amsterdam
    ("2026-05-30", 12),
    ("2026-05-29", 11),
])
def test_time_zones(facts_of, request_for, time, expected):
    assert age(facts_of, request_for, "2014-05-30", time)[0] == expected


@pytest.mark.parametrize(("born", "time", "expected"), [
    # spring forward: Sunday 29 March 2026, 02:00 CET -> 03:00 CEST; the day starts at 23:00Z
    ("2014-03-29", "2026-03-28T22:59:59Z", 11),
    ("2014-03-29", "2026-03-28T23:00:00Z", 12),
    ("2014-03-29", "2026-03-29T02:30:00", 12),       # a wall-clock time that does not exist
    # the day after spring forward starts at 22:00Z (CEST)
    ("2014-03-30", "2026-03-29T21:59:59Z", 11),
    ("2014-03-30", "2026-03-29T22:00:00Z", 12),
    # fall back: Sunday 25 October 2026, 03:00 CEST -> 02:00 CET; the day starts at 22:00Z (CEST)
    ("2014-10-25", "2026-10-24T21:59:59Z", 11),
    ("2014-10-25", "2026-10-24T22:00:00Z", 12),
    ("2014-10-25", "2026-10-25T02:30:00", 12),       # an ambiguous wall-clock time
    # the day after fall back starts at 23:00Z (CET)
    ("2014-10-26", "2026-10-25T22:59:59Z", 11),
    ("2014-10-26", "2026-10-25T23:00:00Z", 12),
])
def test_dst_edges(facts_of, request_for, born, time, expected):
    assert age(facts_of, request_for, born, time)[0] == expected


def test_local_date_uses_amsterdam():
    assert local_date(datetime(2026, 5, 29, 22, 0, tzinfo=UTC)) == date(2026, 5, 30)
    assert local_date(datetime(2026, 5, 29, 22, 0)) == date(2026, 5, 29)


def test_age_decides_rules_at_the_threshold(verdict_of, request_for):
    """The mini bundle's rules switch exactly on the birthday (Amsterdam date)."""
    child = {"subject_id": "c-1", "subject_props": {"relation": "self", "gezag": False}}
    assert not verdict_of(request_for(**child, birthdate="2014-05-30", time="2026-05-29T21:59:59Z")).decision
    assert verdict_of(request_for(**child, birthdate="2014-05-30", time="2026-05-29T22:00:00Z")).decision
    parent = {"birthdate": "2014-05-30"}
    assert verdict_of(request_for(**parent, time="2026-05-29T21:59:59Z")).deciding_rules == ("parent-gezag-under-12",)
    assert verdict_of(request_for(**parent, time="2026-05-29T22:00:00Z")).deciding_rules == ("default-deny",)


def test_missing_time_uses_the_shell_clock(mini, request_for):
    from poortwachter.core.calendar import AMSTERDAM
    from poortwachter.core.decide import derive_facts

    request = request_for(birthdate="2014-11-22", time=None)
    on = derive_facts(mini, parse_envelope(request, datetime(2026, 11, 22, 0, 0, tzinfo=AMSTERDAM)))
    before = derive_facts(mini, parse_envelope(request, datetime(2026, 11, 21, 23, 0, tzinfo=UTC)))
    assert (on["client.age"], before["client.age"]) == (12, 12)  # 23:00Z on the 21st is the 22nd here
    naive = derive_facts(mini, parse_envelope(request, datetime(2026, 11, 21, 23, 59)))
    assert naive["client.age"] == 11


def test_birthdate_after_the_decision_date_is_refused(facts_of, request_for):
    with pytest.raises(RequestError) as err:
        facts_of(request_for(birthdate="2026-11-23", time="2026-11-22T10:00:00+01:00"))
    assert err.value.path == "resource.properties.client.birthdate"
    assert "2026-11-23" in err.value.got


@pytest.mark.parametrize("thresholds", [(), (18,), (12, 16, 18), (4, 12, 16, 18, 23)])
def test_age_band_labels_every_age_by_its_thresholds(thresholds):
    """The remembered labels give every age, past the last threshold too, the band its definition gives."""
    from poortwachter.core.facts import age_band

    def by_definition(a: int) -> str:
        lower = max((t for t in thresholds if t <= a), default=0)
        upper = min((t for t in thresholds if t > a), default=None)
        return f"{lower}+" if upper is None else f"{lower}-{upper - 1}"

    for a in (*range(0, 130), 1000):
        assert age_band(a, thresholds) == by_definition(a), a
