"""Readers of decoded JSON: each reads one field, names its path in every error, and bounds the value.

Shared by request parsing (core/request.py, core/youth_care.py) and the service's own bodies (searches,
admin calls). Each tries the common, valid case first (exact JSON types, set membership) and only then
the checks that word an error; the hot path builds no strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .calendar import AMSTERDAM, start_of_day
from .errors import RequestError

Json = Mapping[str, Any]
_EMPTY: Json = {}


# ---------------------------------------------------------------------------------------------
# limits on what a caller sends (issue 17). The service bounds a body as a whole (docs/service.md);
# these hold for every caller of the core (decisions, searches, explanations, the CLI) and say in the
# error which field broke which limit. Each is generous for a real dossier.

MAX_TEXT = 1024  # characters in an id or any other string: ids are UUIDs, URNs or paths, far shorter
MAX_CONSENTS = 256  # ~21 categories x a client and a few parents and professionals, with renewals
MAX_OBJECTIONS = 256  # as many as consents: an objection is a consent's mirror image
MAX_ATTESTATIONS = 64  # 12 kinds, each attested by a few professionals
MAX_SHIELDED_FROM = 1024  # an item shielded, one id at a time, from a large organisation's staff
MAX_GEZAGHEBBENDEN = 16  # at most two hold gezag at once (BW 1:245, 1:282); room for history and institutions
MAX_MEASURES = 16  # four kinds of measure; a repeat is tolerated

# Dates and moments lie in these years. Nobody alive or with an open dossier was born before 1900, no
# decision is taken after 2200, and inside them every conversion (an offset of up to 14 hours, the
# Amsterdam date) stays far from the limits of Python's dates (years 1-9999): no OverflowError.
FIRST_YEAR, LAST_YEAR = 1900, 2200
_IN_YEARS = f" in the years {FIRST_YEAR} to {LAST_YEAR}"
_DATE_EXPECTED = "an ISO date (YYYY-MM-DD)"
_INSTANT_EXPECTED = "an ISO 8601 date-time such as 2026-11-22T10:00:00+01:00"

# Exactly the forms the contract documents: a date YYYY-MM-DD; a date-time in the extended form
# YYYY-MM-DDTHH:MM[:SS[.fraction of 1-9 digits]][Z|+HH:MM|-HH:MM]. Python's fromisoformat also takes
# week dates (2016-W22-1), the basic form (20160530), any separator and more; those are not what a
# caller means. A date-time's shape (its ASCII digits made 9) must be one of these; fromisoformat then
# checks the calendar. (A shape lookup costs a third of a layout check by hand and a tenth of a regex.)
# A date YYYY-MM-DD is checked by layout, inline: of the ten-character forms date.fromisoformat takes
# (YYYY-MM-DD, YYYY-Www-D) only this one has dashes at 4 and 7, and it takes ASCII digits only.
_TO_SHAPE = bytes.maketrans(b"0123456789", b"9" * 10)
_read_date, _read_date_time = date.fromisoformat, datetime.fromisoformat  # bound once: looked up on the class,
# a classmethod makes a new bound method per call
_DATE_TIME_SHAPES = frozenset(
    f"9999-99-99T99:99{seconds}{offset}".encode()
    for seconds in ("", ":99", *(":99." + "9" * k for k in range(1, 10)))
    for offset in ("", "Z", "+99:99", "-99:99")
)


# ---------------------------------------------------------------------------------------------
# the readers

_NO_STRINGS: frozenset[str] = frozenset()


def one_of(names: tuple[str, ...]) -> frozenset[str]:
    """A closed value set for :func:`choice`, whose names in vocabulary order its error message gives.

    A plain frozenset: ``in`` on a subclass of frozenset goes through a generic slot that looks up
    ``__contains__`` by name, six times the cost (~400 against ~60 instructions), and the readers test
    membership half a dozen times per request."""
    members = frozenset(names)
    _NAMES.setdefault(members, names)
    return members


_NAMES: dict[frozenset[str], tuple[str, ...]] = {}  # each value set of one_of: its names in vocabulary order


def obj(data: Any, path: str, *, required: bool = True) -> Json:
    if type(data) is dict:  # decoded JSON: skip the (slow) abstract Mapping check
        return data
    if data is None and not required:
        return _EMPTY
    if not isinstance(data, Mapping):
        if data is None:
            raise RequestError(path, "an object", missing=True)
        raise RequestError(path, "an object", data)
    return data


def _too_long(path: str, value: str) -> RequestError:
    return RequestError(path, f"a non-empty string of at most {MAX_TEXT} characters",
                        shown=f"a string of {len(value)} characters")


def text(data: Json, key: str, path: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if type(value) is str and 0 < len(value) <= MAX_TEXT:
        return value
    if value is None:
        if required:
            raise RequestError(f"{path}.{key}", "a non-empty string", missing=True)
        return None
    if not isinstance(value, str) or not value:
        raise RequestError(f"{path}.{key}", "a non-empty string", value)
    if len(value) > MAX_TEXT:
        raise _too_long(f"{path}.{key}", value)
    return value


def choice(data: Json, key: str, path: str, allowed: frozenset[str], *, required: bool = False) -> str | None:
    value = data.get(key)
    if type(value) is str and value in allowed:
        return value
    value = text(data, key, path, required=required)
    if value is not None and value not in allowed:
        raise RequestError(f"{path}.{key}", "one of " + ", ".join(_NAMES.get(allowed) or sorted(allowed)), value)
    return value


def flag(data: Json, key: str, path: str) -> bool:
    value = data.get(key)
    if value is None or value is False:
        return False
    if value is not True:
        raise RequestError(f"{path}.{key}", "true or false", value)
    return True


def day(data: Json, key: str, path: str, *, required: bool = False) -> date | None:
    """A date written YYYY-MM-DD (or a date-time of the extended form: its date as written)."""
    value = data.get(key)
    if value is None:
        if required:
            raise RequestError(f"{path}.{key}", _DATE_EXPECTED, missing=True)
        return None
    if type(value) is str:
        found: date | None = None
        try:  # (a lone surrogate cannot be encoded: UnicodeEncodeError is a ValueError)
            if len(value) == 10 and value[4] == "-" and value[7] == "-":
                found = _read_date(value)
            elif value.encode().translate(_TO_SHAPE) in _DATE_TIME_SHAPES:  # its date as written; all must parse
                found = _read_date_time(value).date()
        except ValueError:
            pass
        if found is not None:
            if FIRST_YEAR <= found.year <= LAST_YEAR:
                return found
            raise RequestError(f"{path}.{key}", _DATE_EXPECTED + _IN_YEARS, value)
    raise RequestError(f"{path}.{key}", _DATE_EXPECTED, value)


def plain_day(value: object) -> date | None:
    """:func:`day`'s common valid case without a path: the date of a YYYY-MM-DD in the years the core
    takes, None for anything else (which the caller then reads with :func:`day`).

    The dates read are remembered (at most ``MAX_DAYS``, then all forgotten at once): every request
    about a client repeats its birthdate, and the birthdates of youth care's clients fall on some nine
    thousand days, so a dict lookup replaces the parse (~0.3 µs)."""
    if type(value) is not str:
        return None
    found = _days.get(value)
    if found is not None:
        return found
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            found = _read_date(value)
        except ValueError:
            return None
        if FIRST_YEAR <= found.year <= LAST_YEAR:
            if len(_days) >= MAX_DAYS:
                _days.clear()
            _days[value] = found
            return found
    return None


MAX_DAYS = 16384  # ~45 years of days; each entry a 10-character key and a date: about 2 MB at most
_days: dict[str, date] = {}  # YYYY-MM-DD → its date, for plain_day


def moment(value: object) -> datetime | None:
    """:func:`instant`'s common valid case without a path: an aware datetime for a date-time of the
    contract's extended form in the years the core takes, None for anything else (a bare date too),
    which the caller then reads with :func:`instant` to have it read or worded as an error."""
    if type(value) is str:
        try:
            if value.encode().translate(_TO_SHAPE) in _DATE_TIME_SHAPES:
                found = _read_date_time(value)
                if FIRST_YEAR <= found.year <= LAST_YEAR:
                    return found if found.tzinfo is not None else found.replace(tzinfo=AMSTERDAM)
        except ValueError:
            pass
    return None


def instant(data: Json, key: str, path: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 date-time of the extended form (offset optional: Amsterdam time) or a bare date (its
    midnight in Amsterdam)."""
    value = data.get(key)
    if value is None:
        if required:
            raise RequestError(f"{path}.{key}", "an ISO 8601 date-time", missing=True)
        return None
    if type(value) is str:
        found: date | None = None
        try:
            shape = value.encode().translate(_TO_SHAPE)
            if shape in _DATE_TIME_SHAPES:
                moment = _read_date_time(value)
                if FIRST_YEAR <= moment.year <= LAST_YEAR:  # checked before any conversion can overflow
                    return moment if moment.tzinfo is not None else moment.replace(tzinfo=AMSTERDAM)  # as_aware
                found = moment
            elif len(value) == 10 and value[4] == "-" and value[7] == "-":
                found = _read_date(value)
                if FIRST_YEAR <= found.year <= LAST_YEAR:
                    return start_of_day(found)
        except ValueError:  # (OverflowError cannot come from parsing a shape checked above)
            pass
        if found is not None:
            raise RequestError(f"{path}.{key}", _INSTANT_EXPECTED + "," + _IN_YEARS, value)
    raise RequestError(f"{path}.{key}", _INSTANT_EXPECTED, value)


def strings(data: Json, key: str, path: str, limit: int, what: str) -> frozenset[str]:
    """A list of at most ``limit`` strings (``what`` names them in the error), each of at most MAX_TEXT."""
    value = data.get(key)
    if value is None or (type(value) is list and not value):
        return _NO_STRINGS
    if type(value) is list and len(value) <= limit:
        for x in value:
            if type(x) is not str or len(x) > MAX_TEXT:
                break
        else:
            return frozenset(value)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise RequestError(f"{path}.{key}", "a list of strings", value)
    if len(value) > limit:
        raise RequestError(f"{path}.{key}", f"at most {limit} {what}", shown=f"{len(value)} items")
    for i, x in enumerate(value):
        if len(x) > MAX_TEXT:
            raise _too_long(f"{path}.{key}[{i}]", x)
    return frozenset(value)


def items(data: Json, key: str, path: str, limit: int) -> list[tuple[str, Json]]:
    """A list of at most ``limit`` objects, each with its path for errors."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(f"{path}.{key}", "a list of objects", value)
    if not value:
        return []
    if len(value) > limit:
        raise RequestError(f"{path}.{key}", f"at most {limit} {key}", shown=f"{len(value)} items")
    paths = _item_paths.get((path, key))
    if paths is None or len(paths) < len(value):  # made once per list and length (bounded by ``limit``)
        paths = _item_paths[(path, key)] = [f"{path}.{key}[{i}]" for i in range(max(len(value), 4))]
    return [(where, x if type(x) is dict else obj(x, where)) for where, x in zip(paths, value)]


_item_paths: dict[tuple[str, str], list[str]] = {}  # per list the core reads: the paths of its items
