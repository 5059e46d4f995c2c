"""The AuthZEN evaluation request, parsed from decoded JSON with field-path errors.

:func:`parse_envelope` checks the shape every bundle shares (subject, action, resource, context);
what the properties say is read by the bundle's vocabulary: core/youth_care.py for the contract's,
core/declared_facts.py for a declared one. Unknown fields are ignored (AuthZEN forward compatibility);
unknown *values* of known fields are errors, never guesses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final, NamedTuple

from .calendar import as_aware, local_date
from .readers import _EMPTY, MAX_TEXT, Json, instant, moment, obj, text

#: An AuthZEN subject, resource or action: (type — an action's name —, id — "" for an action —,
#: properties). A plain tuple, read by unpacking or by position: every decision builds three, and a
#: tuple is made in a tenth of the time of a NamedTuple instance (~25 against ~260 ns; issue 15).
Entity = tuple[str, str, Json]
TYPE: Final = 0  # positions in an Entity (Final: mypy then knows the item's type)
ID: Final = 1
PROPERTIES: Final = 2

# The envelope is a NamedTuple rather than a frozen dataclass: as immutable and typed, built in one step
# (a frozen dataclass sets each field through object.__setattr__), with ``tuple.__new__`` straight from
# the values: a NamedTuple's own constructor is a Python function around that very call.
_new = tuple.__new__


class Envelope(NamedTuple):
    """The AuthZEN evaluation request, vocabulary-neutral; ``today`` is the Amsterdam date of ``time``
    (which picks the version in force and settles ages), worked out once here."""

    subject: Entity
    action: Entity
    resource: Entity
    context: Json
    time: datetime
    today: date


def _entity(data: Json, key: str, name_key: str, with_id: bool) -> Entity:
    part = data.get(key)
    if type(part) is not dict:
        part = obj(part, key)
    if with_id:
        ident = part.get("id")
        if not (type(ident) is str and 0 < len(ident) <= MAX_TEXT):
            ident = text(part, "id", key) or ""
    else:
        ident = ""
    kind = part.get(name_key)
    if not (type(kind) is str and 0 < len(kind) <= MAX_TEXT):
        kind = text(part, name_key, key) or ""
    props = part.get("properties")
    if type(props) is not dict:
        props = obj(props, _PROPERTIES[key], required=False)
    return kind, ident, props


_PROPERTIES = {k: f"{k}.properties" for k in ("subject", "action", "resource")}


def parse_envelope(data: Any, now: datetime) -> Envelope:
    """The AuthZEN request; ``now`` (from the shell's clock) is used when ``context.time`` is absent."""
    body = data if type(data) is dict else obj(data, "request")
    context = body.get("context")
    if type(context) is not dict:
        context = obj(context, "context", required=False)
    when = moment(context.get("time")) or instant(context, "time", "context") or as_aware(now)
    # each entity's valid case inline (the exact JSON types, the lengths); anything else goes to _entity,
    # which reads the entity again and words the error
    part = body.get("subject")
    if type(part) is dict and type(ident := part.get("id")) is str and 0 < len(ident) <= MAX_TEXT \
            and type(kind := part.get("type")) is str and 0 < len(kind) <= MAX_TEXT \
            and (type(props := part.get("properties")) is dict or props is None):
        subject = kind, ident, _EMPTY if props is None else props
    else:
        subject = _entity(body, "subject", "type", True)
    part = body.get("action")
    if type(part) is dict and type(kind := part.get("name")) is str and 0 < len(kind) <= MAX_TEXT \
            and (type(props := part.get("properties")) is dict or props is None):
        action = kind, "", _EMPTY if props is None else props
    else:
        action = _entity(body, "action", "name", False)
    part = body.get("resource")
    if type(part) is dict and type(ident := part.get("id")) is str and 0 < len(ident) <= MAX_TEXT \
            and type(kind := part.get("type")) is str and 0 < len(kind) <= MAX_TEXT \
            and (type(props := part.get("properties")) is dict or props is None):
        resource = kind, ident, _EMPTY if props is None else props
    else:
        resource = _entity(body, "resource", "type", True)
    return _new(Envelope, (subject, action, resource, context, when, local_date(when)))
