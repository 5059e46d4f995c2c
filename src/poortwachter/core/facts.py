"""Derived facts: what rules see instead of the raw request.

Everything time-dependent is settled here, at ``context.time``: the age (never the birthdate), whether
a consent is valid now, whether a date of death has passed. That is what lets the decision cache key
on facts (a cached verdict stays right across a birthday or a withdrawal) and makes the decision
space finite for tables and diffs.
"""

from __future__ import annotations

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
    """Label of the band ``age`` (never negative) falls in, e.g. ``12-15`` for thresholds (12, 16, 18)."""
    labels = _BAND_LABELS.get(thresholds)
    if labels is None:
        labels = _BAND_LABELS[thresholds] = tuple(_band(a, thresholds) for a in range(max(thresholds, default=0) + 1))
    return labels[age if age < len(labels) else -1]


# per threshold set: the label of each age up to the last threshold, whose label (e.g. "18+") every older age shares
_BAND_LABELS: dict[tuple[int, ...], tuple[str, ...]] = {}


def _band(age: int, thresholds: tuple[int, ...]) -> str:
    lower = 0
    for t in thresholds:
        if age < t:
            return f"{lower}-{t - 1}"
        lower = t
    return f"{lower}+"


# Every request's facts start as a copy of this template, in the order the facts are listed: the values a
# request without the field has. A copy of a sixty-entry dict costs about what ten stores do, and storing
# into a key it already holds keeps the order, so derive stores only what differs from the template
# (then the attestations that were sent, then the age band, in that order, as they always came).
_TEMPLATE: dict[str, FactValue] = {
    "subject.type": NONE, "subject.relation": NONE, "subject.gezag": False, "subject.discipline": NONE,
    "subject.treatment_relation": False, "subject.team": NONE, "subject.kind": NONE, "subject.is_client": False,
    "subject.is_gezaghebbende": False, "subject.identity_verified": False, "subject.is_author": False,
    "subject.shielded": False, "subject.is_about": False,
    "action.name": NONE, "action.setting": NONE, "action.transfer_reason": NONE, "action.new_school_known": False,
    "recipient.type": NONE, "recipient.relation": NONE, "recipient.gezag": False, "recipient.discipline": NONE,
    "recipient.treatment_relation": False, "recipient.team": NONE, "recipient.kind": NONE,
    "recipient.is_client": False, "recipient.in_care": False, "recipient.identity_verified": False,
    "recipient.shielded": False, "recipient.is_about": False,
    "resource.type": NONE, "resource.dossier_type": NONE, "resource.category": NONE, "resource.author_kind": NONE,
    "resource.confidential_from_parents": False, "resource.about_other": False, "resource.about_relation": NONE,
    "resource.years_since_last_change": -1, "resource.years_since_treatment_end": -1,
    "resource.years_since_created": -1,
    "client.age": 0, "client.deceased": False, "client.wilsonbekwaam": False,
    "context.purpose": NONE, "context.channel": NONE, "context.authn_level": NONE,
    "consent.self": False, "consent.gezag": False, "consent.all_gezag": False, "consent.valid": False,
    "consent.about": False, "objection.self": False, "objection.gezag": False,
    **{f"client.measure.{m}": False for m in MEASURES},
}
_MEASURE_KEYS = tuple((m, f"client.measure.{m}") for m in MEASURES)
_ATTESTATION_KEYS = {k: f"attestation.{k}" for k in ATTESTATIONS}
_AUTHOR_KIND = dict.fromkeys(THIRD_PARTY_AUTHORS, "derde")


def _roles(party: Party, client_id: str) -> set[str]:
    """Ids and role names a consent's ``for`` may use to name this party (its relation as checked)."""
    ptype, pid, relation, _, _, discipline, _, _, kind, _ = party
    names = {pid, "derde" if relation == "self" and pid != client_id else relation, discipline, kind, ptype}
    names.discard(None)  # (the id and type are never empty: the readers refuse that)
    names.discard("")
    return names  # type: ignore[return-value]


def derive(envelope: Envelope, consent_by_age: tuple[ConsentBand, ...], age_thresholds: tuple[int, ...]) \
        -> dict[str, FactValue]:
    """The youth-care facts of ``envelope`` at its ``context.time`` under a bundle's consent bands and age
    thresholds, in one pass over the request: every field read and checked in contract order
    (RequestError names the first offending one), and no value read twice."""
    subject, action, resource, context, when, today = envelope  # (unpacked: a NamedTuple's fields read slower)
    stype, sid, sprops = subject
    subj = read_party(stype, sid, sprops, "subject")
    name, setting, transfer_reason, new_school_known, recipient = read_action(action)
    (rtype, dossier_type, category, author_id, author_kind, shielded, confidential, last_change, treatment_end,
     created, about_id, about_relation, client) = read_resource(resource)
    client_id, born, deceased, died, unable, measures, gezag = client
    if born > today:  # a negative age would satisfy "under 12"
        raise RequestError("resource.properties.client.birthdate",
                           "a date on or before the date of context.time", born.isoformat())
    purpose, channel, authn = read_context(context)
    consents, objections = context.get("consents"), context.get("objections")
    has_consents, has_objections = consents is not None and consents != [], objections is not None and objections != []
    consent_self = consent_gezag = False
    facts = _TEMPLATE.copy()
    if has_consents or has_objections:
        acting = recipient if name == "disclose" and recipient else subj
        names = _roles(acting, client_id)
        if has_consents:
            consenters = read_consents(context, born, when, names, category, purpose)
            if consenters:
                if client_id in consenters:
                    facts["consent.self"] = consent_self = True
                if not consenters.isdisjoint(gezag):
                    facts["consent.gezag"] = consent_gezag = True
                    if consenters.issuperset(gezag):
                        facts["consent.all_gezag"] = True
                if about_id is not None and about_id in consenters:
                    facts["consent.about"] = True
        if has_objections:
            objectors = read_objections(context, when, acting[0], names, category, purpose)
            if objectors:
                if client_id in objectors:
                    facts["objection.self"] = True
                if not objectors.isdisjoint(gezag):
                    facts["objection.gezag"] = True
    # whole_years (core/calendar.py), inline
    age = today.year - born.year
    if (today.month, today.day) < (born.month, born.day):
        age -= 1
    for band in consent_by_age:
        if band.below is None or age < band.below:
            break
    # a wilsonbekwame client cannot consent himself: his band's `wilsonbekwaam` parties decide instead
    deciders = band.wilsonbekwaam if band.wilsonbekwaam and unable else band.from_
    # valid when every decider consented: "self" by the client's consent, any other by the gezag's
    if (consent_self or "self" not in deciders) and (consent_gezag or deciders.count("self") == len(deciders)):
        facts["consent.valid"] = True
    ptype, subject_id, relation, s_gezag, s_verified, discipline, treatment, team, kind, _ = subj
    facts["subject.type"] = ptype
    if relation is not None:
        facts["subject.relation"] = "derde" if relation == "self" and subject_id != client_id else relation
    if s_gezag:
        facts["subject.gezag"] = True
    if discipline is not None:
        facts["subject.discipline"] = discipline
    if treatment:
        facts["subject.treatment_relation"] = True
    if team is not None:
        facts["subject.team"] = team
    if kind is not None:
        facts["subject.kind"] = kind
    if subject_id == client_id:
        facts["subject.is_client"] = True
    if gezag and subject_id in gezag:
        facts["subject.is_gezaghebbende"] = True
    if s_verified:
        facts["subject.identity_verified"] = True
    if author_id is not None and subject_id == author_id:
        facts["subject.is_author"] = True
    if shielded and subject_id in shielded:
        facts["subject.shielded"] = True
    if about_id is not None and subject_id == about_id:
        facts["subject.is_about"] = True
    facts["action.name"] = name
    if setting is not None:
        facts["action.setting"] = setting
    if transfer_reason is not None:
        facts["action.transfer_reason"] = transfer_reason
    if new_school_known:
        facts["action.new_school_known"] = True
    if recipient is not None:
        rtype_, recipient_id, rrelation, r_gezag, r_verified, rdiscipline, rtreatment, rteam, rkind, in_care = recipient
        facts["recipient.type"] = rtype_
        if rrelation is not None:
            facts["recipient.relation"] = "derde" if rrelation == "self" and recipient_id != client_id else rrelation
        if r_gezag:
            facts["recipient.gezag"] = True
        if rdiscipline is not None:
            facts["recipient.discipline"] = rdiscipline
        if rtreatment:
            facts["recipient.treatment_relation"] = True
        if rteam is not None:
            facts["recipient.team"] = rteam
        if rkind is not None:
            facts["recipient.kind"] = rkind
        if recipient_id == client_id:
            facts["recipient.is_client"] = True
        if in_care:
            facts["recipient.in_care"] = True
        if r_verified:
            facts["recipient.identity_verified"] = True
        if shielded and recipient_id in shielded:
            facts["recipient.shielded"] = True
        if about_id is not None and recipient_id == about_id:
            facts["recipient.is_about"] = True
    facts["resource.type"] = rtype
    facts["resource.dossier_type"] = dossier_type
    if category is not None:
        facts["resource.category"] = category
    if author_kind is not None:
        facts["resource.author_kind"] = _AUTHOR_KIND.get(author_kind, author_kind)
    if confidential:
        facts["resource.confidential_from_parents"] = True
    if about_id is not None and about_id != client_id:
        facts["resource.about_other"] = True
    if about_relation is not None:
        facts["resource.about_relation"] = "derde" if about_relation == "self" and about_id != client_id \
            else about_relation
    if last_change is not None:
        facts["resource.years_since_last_change"] = max(whole_years(last_change, today), 0)
    if treatment_end is not None:
        facts["resource.years_since_treatment_end"] = max(whole_years(treatment_end, today), 0)
    if created is not None:
        facts["resource.years_since_created"] = max(whole_years(created, today), 0)
    facts["client.age"] = age
    if deceased or (died is not None and died <= today):
        facts["client.deceased"] = True
    if unable:
        facts["client.wilsonbekwaam"] = True
    if purpose is not None:
        facts["context.purpose"] = purpose
    if channel is not None:
        facts["context.channel"] = channel
    if authn is not None:
        facts["context.authn_level"] = authn
    if measures:
        for m, key in _MEASURE_KEYS:
            if m in measures:
                facts[key] = True
    attestations = context.get("attestations")
    if attestations is not None and attestations != []:
        for a in read_attestations(context):
            facts[_ATTESTATION_KEYS.get(a) or f"attestation.{a}"] = True
    labels = _BAND_LABELS.get(age_thresholds)  # age_band, inline
    facts["client.age_band"] = age_band(age, age_thresholds) if labels is None \
        else labels[age if age < len(labels) else -1]
    return facts
