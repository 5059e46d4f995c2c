"""The contract's youth-care vocabulary, read out of an AuthZEN envelope's properties.

core/facts.py derives the facts from what these readers return, in one pass over the request: each
reader checks every field of its part (a RequestError names the first offending field) and hands back
the values as a plain tuple, which facts.derive unpacks into locals. No typed intermediate objects:
a request has some sixty fields, and building them into objects only to read them again cost more
than reading the request itself. The consents and objections are read knowing who acts, so reading
one settles whether it counts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

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
    choice,
    day,
    flag,
    instant,
    items,
    moment,
    obj,
    one_of,
    plain_day,
    strings,
    text,
)
from .request import Entity

#: a subject or recipient: type, id, relation (as claimed), gezag, identity_verified, discipline,
#: treatment_relation, team (a known team or "other"), kind, in_care
Party = tuple[str, str, str | None, bool, bool, str | None, bool, str | None, str | None, bool]
#: name, setting, transfer_reason, new_school_known, recipient
Action = tuple[str, str | None, str | None, bool, Party | None]
#: client: id, birthdate, deceased, date_of_death, wilsonbekwaam, measures, gezaghebbenden
Client = tuple[str, date, bool, date | None, bool, frozenset[str], Collection[str]]
#: resource: type, dossier_type, category, author_id, author_kind, shielded_from, confidential_from_parents,
#: last_change, treatment_end, created (written_at, else created_at), about_id, about_relation, client
Resource = tuple[str, str, str | None, str | None, str | None, Collection[str], bool, date | None, date | None,
                 date | None, str | None, str | None, Client]

_RELATIONS, _DISCIPLINES, _KINDS = one_of(v.RELATIONS), one_of(v.DISCIPLINES), one_of(v.ORGANISATION_KINDS)
_CATEGORIES, _DOSSIER_TYPES, _AUTHOR_KINDS = one_of(v.CATEGORIES), one_of(v.DOSSIER_TYPES), one_of(v.AUTHOR_KINDS)
_PURPOSES, _AUTHN_LEVELS, _ATTESTATIONS = one_of(v.PURPOSES), one_of(v.AUTHN_LEVELS), one_of(v.ATTESTATIONS)
_MEASURES = frozenset(v.MEASURES)
_NO_STRINGS: frozenset[str] = frozenset()
_SUBJECT_TYPES, _RESOURCE_TYPES, _ACTIONS = frozenset(v.SUBJECT_TYPES), frozenset(v.RESOURCE_TYPES), frozenset(v.ACTIONS)
_TEAMS, _SETTINGS, _CHANNELS = frozenset(v.TEAMS), frozenset(v.SETTINGS), frozenset(v.CHANNELS)
_TRANSFER_REASONS = frozenset(v.TRANSFER_REASONS)
_SCOPES = one_of((*v.CATEGORIES, "dossier", "research"))  # what a consent or objection may be about
_PROPERTIES = {"subject": "subject.properties", "action.properties.recipient": "action.properties.recipient.properties"}


# Each field is read in the order the contract lists it (the first offending field is the one named).
# The common, valid case is checked inline — the exact JSON type, set membership, length — and only
# anything else goes to the reader (core/readers.py), which accepts it as it is or words the error:
# the same checks as calling the reader for every field, without a call per field.


def read_party(entity_type: str, ident: str, props: Json, path: str) -> Party:
    """A subject (``path`` "subject") or a disclosure recipient."""
    if entity_type not in _SUBJECT_TYPES:
        raise RequestError(f"{path}.type", "one of " + ", ".join(v.SUBJECT_TYPES), entity_type)
    pp = _PROPERTIES.get(path) or f"{path}.properties"
    team = props.get("team")
    if team is not None and not (type(team) is str and 0 < len(team) <= MAX_TEXT):
        team = text(props, "team", pp, required=False)
    relation = props.get("relation")
    if relation is not None and not (type(relation) is str and relation in _RELATIONS):
        relation = choice(props, "relation", pp, _RELATIONS)
    gezag = props.get("gezag", False)
    if gezag is not True and gezag is not False:
        gezag = flag(props, "gezag", pp)
    verified = props.get("identity_verified", False)
    if verified is not True and verified is not False:
        verified = flag(props, "identity_verified", pp)
    discipline = props.get("discipline")
    if discipline is not None and not (type(discipline) is str and discipline in _DISCIPLINES):
        discipline = choice(props, "discipline", pp, _DISCIPLINES)
    treatment = props.get("treatment_relation", False)
    if treatment is not True and treatment is not False:
        treatment = flag(props, "treatment_relation", pp)
    kind = props.get("kind")
    if kind is not None and not (type(kind) is str and kind in _KINDS):
        kind = choice(props, "kind", pp, _KINDS)
    in_care = props.get("in_care", False)
    if in_care is not True and in_care is not False:
        in_care = flag(props, "in_care", pp)
    return (entity_type, ident, relation, gezag, verified, discipline, treatment,
            None if team is None else team if team in _TEAMS else "other", kind, in_care)


def read_action(entity: Entity) -> Action:
    name, _, p = entity
    if name not in _ACTIONS:
        raise RequestError("action.name", "one of " + ", ".join(v.ACTIONS), name)
    if not p:
        if name == "disclose":
            raise RequestError("action.properties.recipient", "the recipient (type, id, properties) of a disclosure",
                               missing=True)
        return name, None, None, False, None
    pp, rp, tp = "action.properties", "action.properties.recipient", "action.properties.transfer"
    recipient = None
    r = p.get("recipient")
    if r is not None:
        if type(r) is dict and type(rtype := r.get("type")) is str and 0 < len(rtype) <= MAX_TEXT \
                and type(rid := r.get("id")) is str and 0 < len(rid) <= MAX_TEXT \
                and type(rprops := r.get("properties")) is dict:  # the valid case inline
            recipient = read_party(rtype, rid, rprops, rp)
        else:
            r = obj(r, rp)
            recipient = read_party(text(r, "type", rp) or "", text(r, "id", rp) or "",
                                   obj(r.get("properties"), f"{rp}.properties", required=False), rp)
    elif name == "disclose":
        raise RequestError(rp, "the recipient (type, id, properties) of a disclosure", missing=True)
    transfer, setting, activity = p.get("transfer"), p.get("setting"), p.get("processing_activity_id")
    if transfer is None and (setting is None or (type(setting) is str and 0 < len(setting) <= MAX_TEXT)) \
            and (activity is None or (type(activity) is str and 0 < len(activity) <= MAX_TEXT)):
        reason, new_school_known = None, False  # the common case, no reader called
    else:
        transfer = obj(transfer, tp, required=False)
        reason = text(transfer, "reason", tp, required=False)
        setting = text(p, "setting", pp, required=False)
        new_school_known = flag(transfer, "new_school_known", tp)
        text(p, "processing_activity_id", pp, required=False)  # recorded by the caller, not a fact: checked only
    return (name, None if setting is None else setting if setting in _SETTINGS else "other",
            None if reason is None else reason if reason in _TRANSFER_REASONS else "other", new_school_known, recipient)


def _client(props: Json) -> Client:
    cp = "resource.properties.client"
    data = props.get("client")
    if type(data) is not dict:
        data = obj(data, cp)
    measures = data.get("measures")
    measures = _NO_STRINGS if measures is None else strings(data, "measures", cp, MAX_MEASURES, "measures")
    if not measures <= _MEASURES:
        raise RequestError(f"{cp}.measures", "measures from " + ", ".join(v.MEASURES), min(measures - _MEASURES))
    birthdate = plain_day(data.get("birthdate"))  # day()'s valid case; day() reads anything else
    if birthdate is None:
        birthdate = day(data, "birthdate", cp, required=True)
        assert birthdate is not None
    ident = data.get("id")
    if not (type(ident) is str and 0 < len(ident) <= MAX_TEXT):
        ident = text(data, "id", cp) or ""
    deceased = data.get("deceased", False)
    if deceased is not True and deceased is not False:
        deceased = flag(data, "deceased", cp)
    died = None if data.get("date_of_death") is None else day(data, "date_of_death", cp)
    unable = data.get("wilsonbekwaam", False)
    if unable is not True and unable is not False:
        unable = flag(data, "wilsonbekwaam", cp)
    raw = data.get("gezaghebbenden")  # strings()'s valid case inline for one or two ids, kept as the list
    holders: Collection[str]  # (looking up one of two ids in a list is as quick as in a set, without making one)
    if raw is None:
        holders = _NO_STRINGS
    elif type(raw) is list and 0 < len(raw) <= 2 and type(h := raw[0]) is str and len(h) <= MAX_TEXT \
            and (len(raw) == 1 or (type(h := raw[1]) is str and len(h) <= MAX_TEXT)):
        holders = raw
    else:
        holders = strings(data, "gezaghebbenden", cp, MAX_GEZAGHEBBENDEN, "ids")
    return ident, birthdate, deceased, died, unable, measures, holders


def read_resource(entity: Entity) -> Resource:
    rtype, _, p = entity
    if rtype not in _RESOURCE_TYPES:
        raise RequestError("resource.type", "one of " + ", ".join(v.RESOURCE_TYPES), rtype)
    pp, ap, bp = "resource.properties", "resource.properties.author", "resource.properties.about"
    category = p.get("category")
    if not (type(category) is str and category in _CATEGORIES):
        category = choice(p, "category", pp, _CATEGORIES, required=rtype == "dossier_item")
    author = p.get("author")
    if type(author) is not dict:
        author = obj(author, ap, required=False)
    about = p.get("about")  # mostly absent: then no object to read (obj would give an empty one)
    if about is not None and type(about) is not dict:
        about = obj(about, bp)
    dossier_type = p.get("dossier_type")
    if not (type(dossier_type) is str and dossier_type in _DOSSIER_TYPES):
        dossier_type = choice(p, "dossier_type", pp, _DOSSIER_TYPES, required=True) or ""
    client = _client(p)
    author_id = author.get("id")
    if author_id is not None and not (type(author_id) is str and 0 < len(author_id) <= MAX_TEXT):
        author_id = text(author, "id", ap, required=False)
    author_kind = author.get("kind")
    if author_kind is not None and not (type(author_kind) is str and author_kind in _AUTHOR_KINDS):
        author_kind = choice(author, "kind", ap, _AUTHOR_KINDS)
    raw = p.get("shielded_from")
    shielded: Collection[str]
    if raw is None or raw == []:  # as strings() reads them, without the call; one or two ids likewise (the list)
        shielded = _NO_STRINGS
    elif type(raw) is list and len(raw) <= 2 and type(h := raw[0]) is str and len(h) <= MAX_TEXT \
            and (len(raw) == 1 or (type(h := raw[1]) is str and len(h) <= MAX_TEXT)):
        shielded = raw
    else:
        shielded = strings(p, "shielded_from", pp, MAX_SHIELDED_FROM, "ids")
    confidential = p.get("confidential_from_parents", False)
    if confidential is not True and confidential is not False:
        confidential = flag(p, "confidential_from_parents", pp)
    last_change = None if (raw := p.get("last_change")) is None else plain_day(raw) or day(p, "last_change", pp)
    treatment_end = None if p.get("treatment_end") is None else day(p, "treatment_end", pp)
    created = (None if p.get("written_at") is None else day(p, "written_at", pp)) or \
        (None if p.get("created_at") is None else day(p, "created_at", pp))
    if about is None:
        about_id = about_relation = None
    else:
        about_id = about.get("id")
        if about_id is not None and not (type(about_id) is str and 0 < len(about_id) <= MAX_TEXT):
            about_id = text(about, "id", bp, required=False)
        about_relation = about.get("relation")
        if about_relation is not None and not (type(about_relation) is str and about_relation in _RELATIONS):
            about_relation = choice(about, "relation", bp, _RELATIONS)
    return (rtype, dossier_type, category, author_id, author_kind, shielded, confidential, last_change,
            treatment_end, created, about_id, about_relation, client)


def read_context(context: Json) -> tuple[str | None, str | None, str | None]:
    """(purpose, channel, authn_level): a channel outside the known set reads as ``other``."""
    purpose = context.get("purpose")
    if purpose is not None and not (type(purpose) is str and purpose in _PURPOSES):
        purpose = choice(context, "purpose", "context", _PURPOSES)
    channel = context.get("channel")
    if channel is not None:
        if not (type(channel) is str and 0 < len(channel) <= MAX_TEXT):
            channel = text(context, "channel", "context", required=False)
        channel = channel if channel in _CHANNELS else "other"
    authn = context.get("authn_level")
    if authn is not None and not (type(authn) is str and authn in _AUTHN_LEVELS):
        authn = choice(context, "authn_level", "context", _AUTHN_LEVELS)
    return purpose, channel, authn


def read_consents(context: Json, born: date, now: datetime, acting: set[str], category: str | None,
                  purpose: str | None) -> set[str]:
    """Who gave a consent in force at ``now`` for one of ``acting``'s names, about this request (research
    use, the whole dossier or its category)."""
    found = _valid_consents(context.get("consents"), born, now, acting, category, purpose)
    if found is not None:
        return found
    consenters = set()
    for path, item in items(context, "consents", "context", MAX_CONSENTS):
        given = instant(item, "given_at", path, required=True)
        assert given is not None
        # A consent cannot predate the person: certainly a caller's error. The Amsterdam date of ``given``
        # is at most a day off its date as written, so only a date near the birth needs the exact check.
        if given.date() <= born and given < start_of_day(born):
            raise RequestError(f"{path}.given_at", f"a moment on or after the client's birth ({born.isoformat()}): "
                               "a consent cannot predate the person", item["given_at"])
        by = item.get("by")
        if not (type(by) is str and 0 < len(by) <= MAX_TEXT):
            by = text(item, "by", path) or ""
        for_ = item.get("for")
        if not (type(for_) is str and 0 < len(for_) <= MAX_TEXT):
            for_ = text(item, "for", path) or ""
        scope = item.get("scope")
        if not (type(scope) is str and scope in _SCOPES):
            scope = choice(item, "scope", path, _SCOPES, required=True) or ""
        withdrawn = None if item.get("withdrawn_at") is None else instant(item, "withdrawn_at", path)
        about_this = purpose == "research" if scope == "research" else scope == "dossier" or scope == category
        if for_ in acting and about_this and given <= now and (withdrawn is None or now < withdrawn):
            consenters.add(by)
    return consenters


def _valid_consents(consents: object, born: date, now: datetime, acting: set[str], category: str | None,
                    purpose: str | None) -> set[str] | None:
    """read_consents for a list whose every consent is valid in its common form (each field of the exact
    JSON type, its moments date-times): no paths made, no reader called. None at the first thing that is
    not so: read_consents then reads the list from the start, as before, and words any error."""
    if type(consents) is not list or len(consents) > MAX_CONSENTS:
        return None
    consenters = set()
    for item in consents:
        if type(item) is not dict:
            return None
        given = moment(item.get("given_at"))
        if given is None or (given.date() <= born and given < start_of_day(born)):
            return None
        by, for_, scope = item.get("by"), item.get("for"), item.get("scope")
        if not (type(by) is str and 0 < len(by) <= MAX_TEXT and type(for_) is str and 0 < len(for_) <= MAX_TEXT
                and type(scope) is str and scope in _SCOPES):
            return None
        withdrawn = item.get("withdrawn_at")
        if withdrawn is not None and (withdrawn := moment(withdrawn)) is None:
            return None
        about_this = purpose == "research" if scope == "research" else scope == "dossier" or scope == category
        if for_ in acting and about_this and given <= now and (withdrawn is None or now < withdrawn):
            consenters.add(by)
    return consenters


def read_objections(context: Json, now: datetime, acting_type: str, acting: set[str], category: str | None,
                    purpose: str | None) -> set[str]:
    """Who made an objection in force at ``now`` against the party acting. One without ``for`` is aimed
    at no one in particular (contract): against research use it counts for any research; otherwise it
    counts against persons and organisations but never against a professional, so it cannot lock out
    one named professional, let alone the whole team."""
    read = _valid_objections(context.get("objections"))
    if read is None:  # something not in the common valid form: read each field, wording any error
        read = []
        for path, item in items(context, "objections", "context", MAX_OBJECTIONS):
            by = text(item, "by", path) or ""
            for_ = text(item, "for", path, required=False)
            scope = choice(item, "scope", path, _SCOPES, required=True) or ""
            given = instant(item, "given_at", path)
            text(item, "form", path, required=False)  # optional (e.g. schriftelijk); checked, not used
            instant(item, "withdrawn_at", path)  # not in the contract's objection: checked, ignored (docs/facts.md)
            read.append((by, for_, scope, given))
    objectors = set()
    for by, for_, scope, given in read:
        if given is not None and now < given:
            continue
        if scope == "research":
            counts = purpose == "research" and (for_ is None or for_ in acting)
        elif scope != "dossier" and scope != category:
            counts = False
        else:
            counts = acting_type != "professional" if for_ is None else for_ in acting
        if counts:
            objectors.add(by)
    return objectors


def _valid_objections(objections: object) -> list[tuple[str, str | None, str, datetime | None]] | None:
    """(by, for, scope, given_at) of each objection when all are in the common valid form (exact JSON
    types, moments as date-times); None otherwise (read_objections then reads them field by field)."""
    if type(objections) is not list or len(objections) > MAX_OBJECTIONS:
        return None
    read = []
    for item in objections:
        if type(item) is not dict:
            return None
        by, for_, scope = item.get("by"), item.get("for"), item.get("scope")
        given, form, withdrawn = item.get("given_at"), item.get("form"), item.get("withdrawn_at")
        if not (type(by) is str and 0 < len(by) <= MAX_TEXT and type(scope) is str and scope in _SCOPES
                and (for_ is None or (type(for_) is str and 0 < len(for_) <= MAX_TEXT))
                and (form is None or (type(form) is str and 0 < len(form) <= MAX_TEXT))):
            return None
        if (given is not None and (given := moment(given)) is None) or \
                (withdrawn is not None and moment(withdrawn) is None):
            return None
        read.append((by, for_, scope, given))
    return read


def read_attestations(context: Json) -> frozenset[str]:
    attestations = context.get("attestations")  # the common valid case without paths or readers
    if type(attestations) is list and len(attestations) <= MAX_ATTESTATIONS:
        kinds = set()
        for item in attestations:
            if type(item) is not dict or type(kind := item.get("kind")) is not str or kind not in _ATTESTATIONS \
                    or not ((by := item.get("by")) is None or (type(by) is str and 0 < len(by) <= MAX_TEXT)):
                break
            kinds.add(kind)
        else:
            return frozenset(kinds)
    kinds = set()
    for path, item in items(context, "attestations", "context", MAX_ATTESTATIONS):
        kinds.add(choice(item, "kind", path, _ATTESTATIONS, required=True) or "")
        text(item, "by", path, required=False)  # recorded by the caller, not a fact: checked for shape only
    return frozenset(kinds)
