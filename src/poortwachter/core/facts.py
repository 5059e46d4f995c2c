"""Derived facts: what rules see instead of the raw request.

Everything time-dependent is settled here, at ``context.time``: the age (never the birthdate), whether
a consent is valid now, whether a date of death has passed. That is what lets the decision cache key
on facts (a cached verdict stays right across a birthday or a withdrawal) and makes the decision
space finite for tables and diffs.
"""

from __future__ import annotations

from datetime import date

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
_MEASURE_KEYS = tuple((m, f"client.measure.{m}") for m in MEASURES)
_NO_MEASURES: dict[str, FactValue] = dict.fromkeys((key for _, key in _MEASURE_KEYS), False)
_ATTESTATION_KEYS = {k: f"attestation.{k}" for k in ATTESTATIONS}
_AUTHOR_KIND = dict.fromkeys(THIRD_PARTY_AUTHORS, "derde")


def _roles(party: Party, client_id: str) -> set[str]:
    """Ids and role names a consent's ``for`` may use to name this party (its relation as checked)."""
    ptype, pid, relation, _, _, discipline, _, _, kind, _ = party
    relation = "derde" if relation == "self" and pid != client_id else relation
    return {x for x in (pid, relation, discipline, kind, ptype) if x}


def _years_since(start: date | None, today: date) -> int:
    if start is None:
        return -1
    years = today.year - start.year - ((today.month, today.day) < (start.month, start.day))  # whole_years
    return years if years > 0 else 0


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
    consents, objections, attestations = get("consents"), get("objections"), get("attestations")
    consent_self = consent_gezag = consent_all_gezag = consent_about = objection_self = objection_gezag = False
    if not (consents is None or consents == []) or not (objections is None or objections == []):
        acting = recipient if name == "disclose" and recipient else subj
        names = _roles(acting, client_id)
        if not (consents is None or consents == []):
            consenters = read_consents(context, born, envelope.time, names, category, purpose)
            consent_self = client_id in consenters
            consent_gezag = not consenters.isdisjoint(gezag)
            consent_all_gezag = bool(gezag) and gezag <= consenters
            consent_about = about_id is not None and about_id in consenters
        if not (objections is None or objections == []):
            objectors = read_objections(context, envelope.time, acting[0], names, category, purpose)
            objection_self = client_id in objectors
            objection_gezag = not objectors.isdisjoint(gezag)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))  # calendar.whole_years
    for band in consent_by_age:
        if band.below is None or age < band.below:
            break
    # a wilsonbekwame client cannot consent himself: his band's `wilsonbekwaam` parties decide instead
    deciders = band.wilsonbekwaam if band.wilsonbekwaam and unable else band.from_
    consent_valid = all(consent_self if p == "self" else consent_gezag for p in deciders)
    _, subject_id, relation, s_gezag, s_verified, discipline, treatment, team, kind, _ = subj
    if recipient is None:
        r_type = r_relation = r_discipline = r_team = r_kind = NONE
        r_gezag = r_treatment = r_is_client = r_in_care = r_verified = r_shielded = r_is_about = False
    else:
        (r_type, r_id, r_claimed, r_gezag, r_verified, r_discipline_, r_treatment, r_team_, r_kind_,
         r_in_care) = recipient
        r_relation = ("derde" if r_claimed == "self" and r_id != client_id else r_claimed) or NONE
        r_discipline, r_team, r_kind = r_discipline_ or NONE, r_team_ or NONE, r_kind_ or NONE
        r_is_client = r_id == client_id
        r_shielded = r_id in shielded
        r_is_about = about_id is not None and r_id == about_id
    # one dict display: the facts in the order they have always had (explanations list them sorted anyway)
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
        "recipient.type": r_type,
        "recipient.relation": r_relation,
        "recipient.gezag": r_gezag,
        "recipient.discipline": r_discipline,
        "recipient.treatment_relation": r_treatment,
        "recipient.team": r_team,
        "recipient.kind": r_kind,
        "recipient.is_client": r_is_client,
        "recipient.in_care": r_in_care,
        "recipient.identity_verified": r_verified,
        "recipient.shielded": r_shielded,
        "recipient.is_about": r_is_about,
        "resource.type": rtype,
        "resource.dossier_type": dossier_type,
        "resource.category": category or NONE,
        "resource.author_kind": NONE if author_kind is None else _AUTHOR_KIND.get(author_kind, author_kind),
        "resource.confidential_from_parents": confidential,
        "resource.about_other": about_id is not None and about_id != client_id,
        "resource.about_relation": NONE if about_relation is None else "derde"
        if about_relation == "self" and about_id != client_id else about_relation,
        "resource.years_since_last_change": -1 if last_change is None else _years_since(last_change, today),
        "resource.years_since_treatment_end": -1 if treatment_end is None else _years_since(treatment_end, today),
        "resource.years_since_created": -1 if created is None else _years_since(created, today),
        "client.age": age,
        "client.deceased": deceased or (died is not None and died <= today),
        "client.wilsonbekwaam": unable,
        "context.purpose": purpose or NONE,
        "context.channel": channel or NONE,
        "context.authn_level": authn or NONE,
        "consent.self": consent_self,
        "consent.gezag": consent_gezag,
        "consent.all_gezag": consent_all_gezag,
        "consent.valid": consent_valid,
        "consent.about": consent_about,
        "objection.self": objection_self,
        "objection.gezag": objection_gezag,
    }
    if measures:
        for m, key in _MEASURE_KEYS:
            facts[key] = m in measures
    else:
        facts.update(_NO_MEASURES)
    if not (attestations is None or attestations == []):
        for a in read_attestations(context):
            facts[_ATTESTATION_KEYS.get(a) or f"attestation.{a}"] = True
    facts["client.age_band"] = age_band(age, age_thresholds)
    return facts
