"""Age and time arithmetic at the moment of a decision (Europe/Amsterdam).

The law's thresholds (12, 16, 18) are birthdays, i.e. local calendar dates in the Netherlands, so an
instant is converted to its Amsterdam date before counting. Someone born on 29 February turns a year
older on 1 March in a common year: whole years are only complete once the date has passed 28
February; this follows the plain reading of "whole years lived" and is documented in docs/facts.md.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local_date(instant: datetime) -> date:
    """The calendar date in Amsterdam at ``instant`` (naive instants are taken as Amsterdam time)."""
    if instant.tzinfo is None:
        return instant.date()
    return instant.astimezone(AMSTERDAM).date()


def whole_years(start: date, on: date) -> int:
    """Completed years from ``start`` to ``on``; negative when ``on`` lies before ``start``."""
    years = on.year - start.year
    if (on.month, on.day) < (start.month, start.day):
        years -= 1
    return years


def start_of_day(day: date) -> datetime:
    """Midnight in Amsterdam: how a bare date in a consent or measure is read."""
    return datetime.combine(day, time(0), tzinfo=AMSTERDAM)


def as_aware(instant: datetime) -> datetime:
    """Naive datetimes are Amsterdam wall-clock time."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=AMSTERDAM)
