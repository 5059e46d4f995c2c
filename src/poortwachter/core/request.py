"""Typed decision requests, parsed from decoded JSON with field-path errors.

Two layers: :func:`parse_envelope` checks the AuthZEN shape every bundle shares (subject, action,
resource, context); :func:`parse_youth_care` reads the contract's vocabulary out of the envelope's
properties. Unknown fields are ignored (AuthZEN forward compatibility); unknown *values* of known
fields are errors, never guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Self

from . import vocabulary as v
from .calendar import as_aware, local_date, start_of_day
from .errors import RequestError

Json = Mapping[str, Any]
_EMPTY: Json = {}


@dataclass(frozen=True, slots=True)
class Entity:
    """An AuthZEN subject, resource or action: type/id (name for actions) and free properties."""

    type: str
    id: str
    properties: Json


@dataclass(frozen=True, slots=True)
class Envelope:
    """The AuthZEN evaluation request, vocabulary-neutral."""

    subject: Entity
    action: Entity
    resource: Entity
    context: Json
    time: datetime


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
_DATE_TIME_SHAPES = frozenset(
    f"9999-99-99T99:99{seconds}{offset}".encode()
    for seconds in ("", ":99", *(":99." + "9" * k for k in range(1, 10)))
    for offset in ("", "Z", "+99:99", "-99:99")
)


# ---------------------------------------------------------------------------------------------
# primitive readers: each names the path it reads, so every error says where and what.
# Each tries the common, valid case first (exact JSON types, set membership) and only then the
# checks that word an error; the hot path builds no strings.

_NO_STRINGS: frozenset[str] = frozenset()


class OneOf(frozenset[str]):
    """A closed value set: set membership, and its names in vocabulary order for error messages."""

    names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...]) -> Self:
        self = super().__new__(cls, names)
        self.names = names
        return self


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


def choice(data: Json, key: str, path: str, allowed: OneOf, *, required: bool = False) -> str | None:
    value = data.get(key)
    if type(value) is str and value in allowed:
        return value
    value = text(data, key, path, required=required)
    if value is not None and value not in allowed:
        raise RequestError(f"{path}.{key}", "one of " + ", ".join(allowed.names), value)
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
                found = date.fromisoformat(value)
            elif value.encode().translate(_TO_SHAPE) in _DATE_TIME_SHAPES:  # its date as written; all must parse
                found = datetime.fromisoformat(value).date()
        except ValueError:
            pass
        if found is not None:
            if FIRST_YEAR <= found.year <= LAST_YEAR:
                return found
            raise RequestError(f"{path}.{key}", _DATE_EXPECTED + _IN_YEARS, value)
    raise RequestError(f"{path}.{key}", _DATE_EXPECTED, value)


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
                moment = datetime.fromisoformat(value)
                if FIRST_YEAR <= moment.year <= LAST_YEAR:  # checked before any conversion can overflow
                    return as_aware(moment)
                found = moment
            elif len(value) == 10 and value[4] == "-" and value[7] == "-":
                found = date.fromisoformat(value)
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
    if type(value) is list and len(value) <= limit and all(type(x) is str and len(x) <= MAX_TEXT for x in value):
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
    paths = [f"{path}.{key}[{i}]" for i in range(len(value))]
    return [(where, obj(x, where)) for where, x in zip(paths, value)]


# ---------------------------------------------------------------------------------------------
# the AuthZEN envelope


def _entity(data: Json, key: str, name_key: str, with_id: bool) -> Entity:
    part = obj(data.get(key), key)
    ident = text(part, "id", key) if with_id else ""
    kind = text(part, name_key, key) or ""
    return Entity(type=kind, id=ident or "", properties=obj(part.get("properties"), f"{key}.properties", required=False))


def parse_envelope(data: Any, now: datetime) -> Envelope:
    """The AuthZEN request; ``now`` (from the shell's clock) is used when ``context.time`` is absent."""
    body = obj(data, "request")
    context = obj(body.get("context"), "context", required=False)
    when = instant(context, "time", "context") or as_aware(now)
    return Envelope(
        subject=_entity(body, "subject", "type", True),
        action=_entity(body, "action", "name", False),
        resource=_entity(body, "resource", "type", True),
        context=context,
        time=when,
    )


# ---------------------------------------------------------------------------------------------
# the contract's youth-care vocabulary


# The values below are NamedTuples, not frozen dataclasses: just as immutable and typed, but built
# in half the time (a frozen dataclass sets every field through object.__setattr__), and a request
# builds about sixty fields of them. Only the core reads them (facts.derive).


class Party(NamedTuple):
    """A subject or a disclosure recipient in the contract's vocabulary."""

    type: str
    id: str
    relation: str | None = None
    gezag: bool = False
    identity_verified: bool = False
    discipline: str | None = None
    treatment_relation: bool = False
    team: str | None = None
    kind: str | None = None
    in_care: bool = False


class Client(NamedTuple):
    id: str
    birthdate: date
    deceased: bool = False
    date_of_death: date | None = None
    wilsonbekwaam: bool = False
    measures: frozenset[str] = frozenset()
    gezaghebbenden: frozenset[str] = frozenset()


class Resource(NamedTuple):
    type: str
    id: str
    dossier_type: str
    category: str | None
    client: Client
    author_id: str | None = None
    author_kind: str | None = None
    shielded_from: frozenset[str] = frozenset()
    confidential_from_parents: bool = False
    last_change: date | None = None
    treatment_end: date | None = None
    created_at: date | None = None  # written_at, else created_at: when the item (or log line) was made
    about_id: str | None = None
    about_relation: str | None = None


class Permission(NamedTuple):
    """A consent: who gave it, for whom, about what, from when (until when)."""

    by: str
    for_: str
    scope: str
    given_at: datetime
    withdrawn_at: datetime | None = None


class Objection(NamedTuple):
    """An objection: only who and about what are required (contract). Without ``for_`` it is aimed at
    no one in particular; without ``given_at`` it is in force."""

    by: str
    for_: str | None
    scope: str
    given_at: datetime | None = None


class Action(NamedTuple):
    name: str
    setting: str | None = None
    transfer_reason: str | None = None
    new_school_known: bool = False
    recipient: Party | None = None
    processing_activity_id: str | None = None


class YouthCareRequest(NamedTuple):
    subject: Party
    action: Action
    resource: Resource
    time: datetime
    purpose: str | None = None
    channel: str | None = None
    authn_level: str | None = None
    consents: tuple[Permission, ...] = ()
    objections: tuple[Objection, ...] = ()
    attestations: frozenset[str] = frozenset()
    today: date | None = None  # the Amsterdam date of ``time`` (derived once, here)


_RELATIONS, _DISCIPLINES, _KINDS = OneOf(v.RELATIONS), OneOf(v.DISCIPLINES), OneOf(v.ORGANISATION_KINDS)
_CATEGORIES, _DOSSIER_TYPES, _AUTHOR_KINDS = OneOf(v.CATEGORIES), OneOf(v.DOSSIER_TYPES), OneOf(v.AUTHOR_KINDS)
_PURPOSES, _AUTHN_LEVELS, _ATTESTATIONS = OneOf(v.PURPOSES), OneOf(v.AUTHN_LEVELS), OneOf(v.ATTESTATIONS)
_MEASURES = frozenset(v.MEASURES)
_SCOPES = OneOf((*v.CATEGORIES, "dossier", "research"))  # what a consent or objection may be about
_PROPERTIES = {"subject": "subject.properties", "action.properties.recipient": "action.properties.recipient.properties"}


def _party(entity_type: str, ident: str, props: Json, path: str) -> Party:
    if entity_type not in v.SUBJECT_TYPES:
        raise RequestError(f"{path}.type", "one of " + ", ".join(v.SUBJECT_TYPES), entity_type)
    pp = _PROPERTIES.get(path) or f"{path}.properties"
    team = text(props, "team", pp, required=False)
    return Party(
        type=entity_type,
        id=ident,
        relation=choice(props, "relation", pp, _RELATIONS),
        gezag=flag(props, "gezag", pp),
        identity_verified=flag(props, "identity_verified", pp),
        discipline=choice(props, "discipline", pp, _DISCIPLINES),
        treatment_relation=flag(props, "treatment_relation", pp),
        team=None if team is None else team if team in v.TEAMS else "other",
        kind=choice(props, "kind", pp, _KINDS),
        in_care=flag(props, "in_care", pp),
    )


def _client(props: Json) -> Client:
    cp = "resource.properties.client"
    data = obj(props.get("client"), cp)
    measures = strings(data, "measures", cp, MAX_MEASURES, "measures")
    if not measures <= _MEASURES:
        raise RequestError(f"{cp}.measures", "measures from " + ", ".join(v.MEASURES), min(measures - _MEASURES))
    birthdate = day(data, "birthdate", cp, required=True)
    assert birthdate is not None
    return Client(
        id=text(data, "id", cp) or "",
        birthdate=birthdate,
        deceased=flag(data, "deceased", cp),
        date_of_death=day(data, "date_of_death", cp),
        wilsonbekwaam=flag(data, "wilsonbekwaam", cp),
        measures=measures,
        gezaghebbenden=strings(data, "gezaghebbenden", cp, MAX_GEZAGHEBBENDEN, "ids"),
    )


def _resource(entity: Entity) -> Resource:
    if entity.type not in v.RESOURCE_TYPES:
        raise RequestError("resource.type", "one of " + ", ".join(v.RESOURCE_TYPES), entity.type)
    p = entity.properties
    pp, ap, bp = "resource.properties", "resource.properties.author", "resource.properties.about"
    category = choice(p, "category", pp, _CATEGORIES, required=entity.type == "dossier_item")
    author = obj(p.get("author"), ap, required=False)
    about = obj(p.get("about"), bp, required=False)
    return Resource(
        type=entity.type,
        id=entity.id,
        dossier_type=choice(p, "dossier_type", pp, _DOSSIER_TYPES, required=True) or "",
        category=category,
        client=_client(p),
        author_id=text(author, "id", ap, required=False),
        author_kind=choice(author, "kind", ap, _AUTHOR_KINDS),
        shielded_from=strings(p, "shielded_from", pp, MAX_SHIELDED_FROM, "ids"),
        confidential_from_parents=flag(p, "confidential_from_parents", pp),
        last_change=day(p, "last_change", pp),
        treatment_end=day(p, "treatment_end", pp),
        created_at=day(p, "written_at", pp) or day(p, "created_at", pp),
        about_id=text(about, "id", bp, required=False),
        about_relation=choice(about, "relation", bp, _RELATIONS),
    )


def _action(entity: Entity) -> Action:
    if entity.type not in v.ACTIONS:
        raise RequestError("action.name", "one of " + ", ".join(v.ACTIONS), entity.type)
    p = entity.properties
    pp, rp, tp = "action.properties", "action.properties.recipient", "action.properties.transfer"
    recipient = None
    if p.get("recipient") is not None:
        r = obj(p["recipient"], rp)
        recipient = _party(text(r, "type", rp) or "", text(r, "id", rp) or "",
                           obj(r.get("properties"), f"{rp}.properties", required=False), rp)
    elif entity.type == "disclose":
        raise RequestError(rp, "the recipient (type, id, properties) of a disclosure", missing=True)
    transfer = obj(p.get("transfer"), tp, required=False)
    reason = text(transfer, "reason", tp, required=False)
    return Action(
        name=entity.type,
        setting=None if (s := text(p, "setting", pp, required=False)) is None else s if s in v.SETTINGS else "other",
        transfer_reason=None if reason is None else reason if reason in v.TRANSFER_REASONS else "other",
        new_school_known=flag(transfer, "new_school_known", tp),
        recipient=recipient,
        processing_activity_id=text(p, "processing_activity_id", pp, required=False),
    )


def _consents(context: Json, born: date) -> tuple[Permission, ...]:
    found = []
    for path, item in items(context, "consents", "context", MAX_CONSENTS):
        given = instant(item, "given_at", path, required=True)
        assert given is not None
        # A consent cannot predate the person: certainly a caller's error. The Amsterdam date of ``given``
        # is at most a day off its date as written, so only a date near the birth needs the exact check.
        if given.date() <= born and given < start_of_day(born):
            raise RequestError(f"{path}.given_at", f"a moment on or after the client's birth ({born.isoformat()}): "
                               "a consent cannot predate the person", item["given_at"])
        found.append(Permission(
            by=text(item, "by", path) or "",
            for_=text(item, "for", path) or "",
            scope=choice(item, "scope", path, _SCOPES, required=True) or "",
            given_at=given,
            withdrawn_at=instant(item, "withdrawn_at", path),
        ))
    return tuple(found)


def _objections(context: Json) -> tuple[Objection, ...]:
    found = []
    for path, item in items(context, "objections", "context", MAX_OBJECTIONS):
        found.append(Objection(
            by=text(item, "by", path) or "",
            for_=text(item, "for", path, required=False),
            scope=choice(item, "scope", path, _SCOPES, required=True) or "",
            given_at=instant(item, "given_at", path),
        ))
        text(item, "form", path, required=False)  # optional (e.g. schriftelijk); checked, not used
        instant(item, "withdrawn_at", path)  # not in the contract's objection: checked, ignored (docs/facts.md)
    return tuple(found)


def _attestations(context: Json) -> frozenset[str]:
    kinds = set()
    for path, item in items(context, "attestations", "context", MAX_ATTESTATIONS):
        kinds.add(choice(item, "kind", path, _ATTESTATIONS, required=True) or "")
        text(item, "by", path, required=False)  # recorded by the caller, not a fact: checked for shape only
    return frozenset(kinds)


def parse_youth_care(envelope: Envelope) -> YouthCareRequest:
    """Read the contract's vocabulary; raises RequestError naming the first offending field."""
    s = envelope.subject
    c = envelope.context
    subject = _party(s.type, s.id, s.properties, "subject")
    action = _action(envelope.action)
    resource = _resource(envelope.resource)
    today = local_date(envelope.time)
    if resource.client.birthdate > today:  # a negative age would satisfy "under 12"
        raise RequestError("resource.properties.client.birthdate",
                           "a date on or before the date of context.time", resource.client.birthdate.isoformat())
    return YouthCareRequest(
        subject=subject,
        action=action,
        resource=resource,
        time=envelope.time,
        purpose=choice(c, "purpose", "context", _PURPOSES),
        channel=None if (ch := text(c, "channel", "context", required=False)) is None
        else ch if ch in v.CHANNELS else "other",
        authn_level=choice(c, "authn_level", "context", _AUTHN_LEVELS),
        consents=_consents(c, resource.client.birthdate),
        objections=_objections(c),
        attestations=_attestations(c),
        today=today,
    )
