"""Derived facts: what rules see instead of the raw request.

Everything time-dependent is settled here, at ``context.time``: the age (never the birthdate), whether
a consent is valid now, whether a date of death has passed. That is what lets the decision cache key
on facts (a cached verdict stays right across a birthday or a withdrawal) and makes the decision
space finite for tables and diffs.
"""

from __future__ import annotations

from datetime import date

from .calendar import whole_years
from .errors import RequestError
from .policy.values import ConsentBand, FactValue
from .request import Envelope
from .vocabulary import ATTESTATIONS, MEASURES, NONE, THIRD_PARTY_AUTHORS
from .youth_care import (
    Party,
    read_action,
    read_attestations,
    read_consents,
    read_context,
    read_objections,
    read_party,
    read_resource,
)


def age_band(age: int, thresholds: tuple[int, ...]) -> str:
    """Label of the band ``age`` falls in, e.g. ``12-15`` for thresholds (12, 16, 18)."""
    labels = _BAND_LABELS.get(thresholds)
    if labels is None:
        labels = _BAND_LABELS[thresholds] = tuple(_band(a, thresholds) for a in range(max(thresholds, default=0) + 1))
    return labels[age] if 0 <= age < len(labels) else _band(age, thresholds)


_BAND_LABELS: dict[tuple[int, ...], tuple[str, ...]] = {}  # per threshold set: the label of each age up to the last


def _band(age: int, thresholds: tuple[int, ...]) -> str:
    lower = 0
    for t in thresholds:
        if age < t:
            return f"{lower}-{t - 1}"
        lower = t
    return f"{lower}+"


# fact names made once, not per request
_PARTY_FIELDS = ("type", "relation", "gezag", "discipline", "treatment_relation", "team", "kind", "is_client")
_RECIPIENT_KEYS = tuple(f"recipient.{x}" for x in _PARTY_FIELDS)
_NO_RECIPIENT: dict[str, FactValue] = {
    **dict(zip(_RECIPIENT_KEYS, (NONE, NONE, False, NONE, False, NONE, NONE, False))),
    "recipient.in_care": False, "recipient.identity_verified": False, "recipient.shielded": False,
    "recipient.is_about": False,
}
_MEASURE_KEYS = tuple((m, f"client.measure.{m}") for m in MEASURES)
_NO_MEASURES: dict[str, FactValue] = dict.fromkeys((key for _, key in _MEASURE_KEYS), False)
_ATTESTATION_KEYS = {k: f"attestation.{k}" for k in ATTESTATIONS}
_AUTHOR_KIND = dict.fromkeys(THIRD_PARTY_AUTHORS, "derde")


def _party_facts(keys: tuple[str, ...], party: Party, client_id: str) -> dict[str, FactValue]:
    """The party's facts; a claimed ``self`` holds only for the client's own id, else it is ``derde``
    (contract: a person claiming ``self`` for someone else's dossier is a third party)."""
    type_, relation, gezag, discipline, treatment, team, kind, is_client = keys
    ptype, pid, prelation, pgezag, _, pdiscipline, ptreatment, pteam, pkind, _ = party
    return {
        type_: ptype,
        relation: ("derde" if prelation == "self" and pid != client_id else prelation) or NONE,
        gezag: pgezag,
        discipline: pdiscipline or NONE,
        treatment: ptreatment,
        team: pteam or NONE,
        kind: pkind or NONE,
        is_client: pid == client_id,
    }


def _roles(party: Party, client_id: str) -> set[str]:
    """Ids and role names a consent's ``for`` may use to name this party (its relation as checked)."""
    ptype, pid, relation, _, _, discipline, _, _, kind, _ = party
    relation = "derde" if relation == "self" and pid != client_id else relation
    return {x for x in (pid, relation, discipline, kind, ptype) if x}


def _years_since(start: date | None, today: date) -> int:
    return -1 if start is None else max(whole_years(start, today), 0)


def derive(envelope: Envelope, consent_by_age: tuple[ConsentBand, ...], age_thresholds: tuple[int, ...]) \
        -> dict[str, FactValue]:
    """The youth-care facts of ``envelope`` at its ``context.time`` under a bundle's consent bands and age
    thresholds, in one pass over the request: every field read and checked in contract order
    (RequestError names the first offending one), and no value read twice."""
    s = envelope.subject
    subj = read_party(s.type, s.id, s.properties, "subject")
    name, setting, transfer_reason, new_school_known, recipient = read_action(envelope.action)
    (rtype, dossier_type, category, author_id, author_kind, shielded, confidential, last_change, treatment_end,
     created, about_id, about_relation, client) = read_resource(envelope.resource)
    client_id, born, deceased, died, unable, measures, gezag = client
    today = envelope.today
    if born > today:  # a negative age would satisfy "under 12"
        raise RequestError("resource.properties.client.birthdate",
                           "a date on or before the date of context.time", born.isoformat())
    context = envelope.context
    purpose, channel, authn = read_context(context)
    get = context.get
    consents, objections = get("consents"), get("objections")
    has_consents, has_objections = consents is not None and consents != [], objections is not None and objections != []
    consent_self = consent_gezag = consent_all_gezag = consent_about = objection_self = objection_gezag = False
    if has_consents or has_objections:
        acting = recipient if name == "disclose" and recipient else subj
        names = _roles(acting, client_id)
        if has_consents:
            consenters = read_consents(context, born, envelope.time, names, category, purpose)
            consent_self = client_id in consenters
            consent_gezag = not consenters.isdisjoint(gezag)
            consent_all_gezag = bool(gezag) and gezag <= consenters
            consent_about = about_id is not None and about_id in consenters
        if has_objections:
            objectors = read_objections(context, envelope.time, acting[0], names, category, purpose)
            objection_self = client_id in objectors
            objection_gezag = not objectors.isdisjoint(gezag)
    age = whole_years(born, today)
    for band in consent_by_age:
        if band.below is None or age < band.below:
            break
    # a wilsonbekwame client cannot consent himself: his band's `wilsonbekwaam` parties decide instead
    deciders = band.wilsonbekwaam if band.wilsonbekwaam and unable else band.from_
    consent_valid = all(consent_self if p == "self" else consent_gezag for p in deciders)
    _, subject_id, relation, s_gezag, s_verified, discipline, treatment, team, kind, _ = subj
    facts: dict[str, FactValue] = {
        "subject.type": subj[0],
        "subject.relation": ("derde" if relation == "self" and subject_id != client_id else relation) or NONE,
        "subject.gezag": s_gezag,
        "subject.discipline": discipline or NONE,
        "subject.treatment_relation": treatment,
        "subject.team": team or NONE,
        "subject.kind": kind or NONE,
        "subject.is_client": subject_id == client_id,
        "subject.is_gezaghebbende": subject_id in gezag,
        "subject.identity_verified": s_verified,
        "subject.is_author": author_id is not None and subject_id == author_id,
        "subject.shielded": subject_id in shielded,
        "subject.is_about": about_id is not None and subject_id == about_id,
        "action.name": name,
        "action.setting": setting or NONE,
        "action.transfer_reason": transfer_reason or NONE,
        "action.new_school_known": new_school_known,
    }
    if recipient is None:
        facts.update(_NO_RECIPIENT)
    else:
        facts.update(_party_facts(_RECIPIENT_KEYS, recipient, client_id))
        recipient_id = recipient[1]
        facts["recipient.in_care"] = recipient[9]
        facts["recipient.identity_verified"] = recipient[4]
        facts["recipient.shielded"] = recipient_id in shielded
        facts["recipient.is_about"] = about_id is not None and recipient_id == about_id
    facts["resource.type"] = rtype
    facts["resource.dossier_type"] = dossier_type
    facts["resource.category"] = category or NONE
    facts["resource.author_kind"] = NONE if author_kind is None else _AUTHOR_KIND.get(author_kind, author_kind)
    facts["resource.confidential_from_parents"] = confidential
    facts["resource.about_other"] = about_id is not None and about_id != client_id
    facts["resource.about_relation"] = NONE if about_relation is None else "derde" \
        if about_relation == "self" and about_id != client_id else about_relation
    facts["resource.years_since_last_change"] = -1 if last_change is None else _years_since(last_change, today)
    facts["resource.years_since_treatment_end"] = -1 if treatment_end is None else _years_since(treatment_end, today)
    facts["resource.years_since_created"] = -1 if created is None else _years_since(created, today)
    facts["client.age"] = age
    facts["client.deceased"] = deceased or (died is not None and died <= today)
    facts["client.wilsonbekwaam"] = unable
    facts["context.purpose"] = purpose or NONE
    facts["context.channel"] = channel or NONE
    facts["context.authn_level"] = authn or NONE
    facts["consent.self"] = consent_self
    facts["consent.gezag"] = consent_gezag
    facts["consent.all_gezag"] = consent_all_gezag
    facts["consent.valid"] = consent_valid
    facts["consent.about"] = consent_about
    facts["objection.self"] = objection_self
    facts["objection.gezag"] = objection_gezag
    if measures:
        for m, key in _MEASURE_KEYS:
            facts[key] = m in measures
    else:
        facts.update(_NO_MEASURES)
    attestations = get("attestations")
    if attestations is not None and attestations != []:
        for a in read_attestations(context):
            facts[_ATTESTATION_KEYS.get(a) or f"attestation.{a}"] = True
    facts["client.age_band"] = age_band(age, age_thresholds)
    return facts
