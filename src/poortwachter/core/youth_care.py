"""The contract's youth-care vocabulary, read out of an AuthZEN envelope's properties as typed values.

:func:`parse_youth_care` raises RequestError naming the first offending field; core/facts.py derives
the facts rules see from what it returns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from . import vocabulary as v
from .calendar import start_of_day
from .errors import RequestError
from .readers import (
    MAX_ATTESTATIONS,
    MAX_CONSENTS,
    MAX_GEZAGHEBBENDEN,
    MAX_MEASURES,
    MAX_OBJECTIONS,
    MAX_SHIELDED_FROM,
    MAX_TEXT,
    Json,
    OneOf,
    choice,
    day,
    flag,
    instant,
    items,
    obj,
    strings,
    text,
)
from .request import Entity, Envelope

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
    today: date | None = None  # the Amsterdam date of ``time`` (the envelope's)


_RELATIONS, _DISCIPLINES, _KINDS = OneOf(v.RELATIONS), OneOf(v.DISCIPLINES), OneOf(v.ORGANISATION_KINDS)
_CATEGORIES, _DOSSIER_TYPES, _AUTHOR_KINDS = OneOf(v.CATEGORIES), OneOf(v.DOSSIER_TYPES), OneOf(v.AUTHOR_KINDS)
_PURPOSES, _AUTHN_LEVELS, _ATTESTATIONS = OneOf(v.PURPOSES), OneOf(v.AUTHN_LEVELS), OneOf(v.ATTESTATIONS)
_MEASURES = frozenset(v.MEASURES)
_NO_STRINGS: frozenset[str] = frozenset()
_SUBJECT_TYPES, _RESOURCE_TYPES, _ACTIONS = frozenset(v.SUBJECT_TYPES), frozenset(v.RESOURCE_TYPES), frozenset(v.ACTIONS)
_TEAMS, _SETTINGS, _CHANNELS = frozenset(v.TEAMS), frozenset(v.SETTINGS), frozenset(v.CHANNELS)
_TRANSFER_REASONS = frozenset(v.TRANSFER_REASONS)
_SCOPES = OneOf((*v.CATEGORIES, "dossier", "research"))  # what a consent or objection may be about
_PROPERTIES = {"subject": "subject.properties", "action.properties.recipient": "action.properties.recipient.properties"}


# Each field is read in the order the contract lists it (the first offending field is the one named).
# The common, valid case is checked inline — the exact JSON type, set membership, length — and only
# anything else goes to the reader (core/readers.py), which accepts it as it is or words the error:
# the same checks as calling the reader for every field, without a call per field.


def _party(entity_type: str, ident: str, props: Json, path: str) -> Party:
    if entity_type not in _SUBJECT_TYPES:
        raise RequestError(f"{path}.type", "one of " + ", ".join(v.SUBJECT_TYPES), entity_type)
    pp = _PROPERTIES.get(path) or f"{path}.properties"
    get = props.get
    team = get("team")
    if team is not None and not (type(team) is str and 0 < len(team) <= MAX_TEXT):
        team = text(props, "team", pp, required=False)
    relation = get("relation")
    if relation is not None and not (type(relation) is str and relation in _RELATIONS):
        relation = choice(props, "relation", pp, _RELATIONS)
    gezag = get("gezag", False)
    if gezag is not True and gezag is not False:
        gezag = flag(props, "gezag", pp)
    verified = get("identity_verified", False)
    if verified is not True and verified is not False:
        verified = flag(props, "identity_verified", pp)
    discipline = get("discipline")
    if discipline is not None and not (type(discipline) is str and discipline in _DISCIPLINES):
        discipline = choice(props, "discipline", pp, _DISCIPLINES)
    treatment = get("treatment_relation", False)
    if treatment is not True and treatment is not False:
        treatment = flag(props, "treatment_relation", pp)
    kind = get("kind")
    if kind is not None and not (type(kind) is str and kind in _KINDS):
        kind = choice(props, "kind", pp, _KINDS)
    in_care = get("in_care", False)
    if in_care is not True and in_care is not False:
        in_care = flag(props, "in_care", pp)
    return Party(entity_type, ident, relation, gezag, verified, discipline, treatment,
                 None if team is None else team if team in _TEAMS else "other", kind, in_care)


def _client(props: Json) -> Client:
    cp = "resource.properties.client"
    data = props.get("client")
    if type(data) is not dict:
        data = obj(data, cp)
    get = data.get
    measures = get("measures")
    measures = _NO_STRINGS if measures is None else strings(data, "measures", cp, MAX_MEASURES, "measures")
    if not measures <= _MEASURES:
        raise RequestError(f"{cp}.measures", "measures from " + ", ".join(v.MEASURES), min(measures - _MEASURES))
    birthdate = day(data, "birthdate", cp, required=True)
    assert birthdate is not None
    ident = get("id")
    if not (type(ident) is str and 0 < len(ident) <= MAX_TEXT):
        ident = text(data, "id", cp) or ""
    deceased = get("deceased", False)
    if deceased is not True and deceased is not False:
        deceased = flag(data, "deceased", cp)
    died = None if get("date_of_death") is None else day(data, "date_of_death", cp)
    unable = get("wilsonbekwaam", False)
    if unable is not True and unable is not False:
        unable = flag(data, "wilsonbekwaam", cp)
    holders = _NO_STRINGS if get("gezaghebbenden") is None else \
        strings(data, "gezaghebbenden", cp, MAX_GEZAGHEBBENDEN, "ids")
    return Client(ident, birthdate, deceased, died, unable, measures, holders)


def _resource(entity: Entity) -> Resource:
    if entity.type not in _RESOURCE_TYPES:
        raise RequestError("resource.type", "one of " + ", ".join(v.RESOURCE_TYPES), entity.type)
    p = entity.properties
    get = p.get
    pp, ap, bp = "resource.properties", "resource.properties.author", "resource.properties.about"
    category = get("category")
    if not (type(category) is str and category in _CATEGORIES):
        category = choice(p, "category", pp, _CATEGORIES, required=entity.type == "dossier_item")
    author = get("author")
    if type(author) is not dict:
        author = obj(author, ap, required=False)
    about = get("about")
    if type(about) is not dict:
        about = obj(about, bp, required=False)
    dossier_type = get("dossier_type")
    if not (type(dossier_type) is str and dossier_type in _DOSSIER_TYPES):
        dossier_type = choice(p, "dossier_type", pp, _DOSSIER_TYPES, required=True) or ""
    client = _client(p)
    author_id = author.get("id")
    if author_id is not None and not (type(author_id) is str and 0 < len(author_id) <= MAX_TEXT):
        author_id = text(author, "id", ap, required=False)
    author_kind = author.get("kind")
    if author_kind is not None and not (type(author_kind) is str and author_kind in _AUTHOR_KINDS):
        author_kind = choice(author, "kind", ap, _AUTHOR_KINDS)
    shielded = _NO_STRINGS if get("shielded_from") is None else \
        strings(p, "shielded_from", pp, MAX_SHIELDED_FROM, "ids")
    confidential = get("confidential_from_parents", False)
    if confidential is not True and confidential is not False:
        confidential = flag(p, "confidential_from_parents", pp)
    last_change = None if get("last_change") is None else day(p, "last_change", pp)
    treatment_end = None if get("treatment_end") is None else day(p, "treatment_end", pp)
    created = (None if get("written_at") is None else day(p, "written_at", pp)) or \
        (None if get("created_at") is None else day(p, "created_at", pp))
    about_id = about.get("id")
    if about_id is not None and not (type(about_id) is str and 0 < len(about_id) <= MAX_TEXT):
        about_id = text(about, "id", bp, required=False)
    about_relation = about.get("relation")
    if about_relation is not None and not (type(about_relation) is str and about_relation in _RELATIONS):
        about_relation = choice(about, "relation", bp, _RELATIONS)
    return Resource(entity.type, entity.id, dossier_type, category, client, author_id, author_kind, shielded,
                    confidential, last_change, treatment_end, created, about_id, about_relation)


def _action(entity: Entity) -> Action:
    if entity.type not in _ACTIONS:
        raise RequestError("action.name", "one of " + ", ".join(v.ACTIONS), entity.type)
    p = entity.properties
    if not p:
        if entity.type == "disclose":
            raise RequestError("action.properties.recipient", "the recipient (type, id, properties) of a disclosure",
                               missing=True)
        return Action(entity.type)
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
        setting=None if (s := text(p, "setting", pp, required=False)) is None else s if s in _SETTINGS else "other",
        transfer_reason=None if reason is None else reason if reason in _TRANSFER_REASONS else "other",
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
            withdrawn_at=None if item.get("withdrawn_at") is None else instant(item, "withdrawn_at", path),
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
    today = envelope.today
    if resource.client.birthdate > today:  # a negative age would satisfy "under 12"
        raise RequestError("resource.properties.client.birthdate",
                           "a date on or before the date of context.time", resource.client.birthdate.isoformat())
    get = c.get
    purpose = get("purpose")
    if purpose is not None and not (type(purpose) is str and purpose in _PURPOSES):
        purpose = choice(c, "purpose", "context", _PURPOSES)
    channel = get("channel")
    if channel is not None:
        if not (type(channel) is str and 0 < len(channel) <= MAX_TEXT):
            channel = text(c, "channel", "context", required=False)
        channel = channel if channel in _CHANNELS else "other"
    authn = get("authn_level")
    if authn is not None and not (type(authn) is str and authn in _AUTHN_LEVELS):
        authn = choice(c, "authn_level", "context", _AUTHN_LEVELS)
    consents = get("consents")
    consents = () if consents is None or consents == [] else _consents(c, resource.client.birthdate)
    objections = get("objections")
    objections = () if objections is None or objections == [] else _objections(c)
    attestations = get("attestations")
    attestations = _NO_STRINGS if attestations is None or attestations == [] else _attestations(c)
    return YouthCareRequest(subject, action, resource, envelope.time, purpose, channel, authn, consents,
                            objections, attestations, today)
