"""Derived facts: what rules see instead of the raw request.

Everything time-dependent is settled here, at ``context.time``: the age (never the birthdate), whether
a consent is valid now, whether a date of death has passed. That is what lets the decision cache key
on facts (a cached verdict stays right across a birthday or a withdrawal) and makes the decision
space finite for tables and diffs.
"""

from __future__ import annotations

from .calendar import local_date, whole_years
from .policy.values import DEFAULT_CONSENT_BY_AGE, ConsentBand, FactValue
from .vocabulary import ATTESTATIONS, MEASURES, NONE, THIRD_PARTY_AUTHORS
from .youth_care import Objection, Party, Permission, YouthCareRequest


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


def _relation(party: Party, client_id: str) -> str | None:
    """The party's relation; a claimed ``self`` holds only for the client's own id, else it is ``derde``
    (contract: a person claiming ``self`` for someone else's dossier is a third party)."""
    relation = party.relation
    return "derde" if relation == "self" and party.id != client_id else relation


def _roles(party: Party, client_id: str) -> set[str]:
    """Ids and role names a consent's ``for`` may use to name this party (its relation as checked)."""
    return {x for x in (party.id, _relation(party, client_id), party.discipline, party.kind, party.type) if x}


def _covers(p: Permission, acting: set[str], category: str | None, purpose: str | None) -> bool:
    if p.for_ not in acting:
        return False
    if p.scope == "research":
        return purpose == "research"
    return p.scope == "dossier" or p.scope == category


def _objects(o: Objection, party: Party, acting: set[str], category: str | None, purpose: str | None) -> bool:
    """Whether objection ``o`` stands against ``party`` acting now. One without ``for`` is aimed at no one
    in particular (contract): against research use it counts for any research; otherwise it counts
    against persons and organisations but never against a professional, so it cannot lock out one
    named professional, let alone the whole team."""
    if o.scope == "research":
        return purpose == "research" and (o.for_ is None or o.for_ in acting)
    if o.scope != "dossier" and o.scope != category:
        return False
    return party.type != "professional" if o.for_ is None else o.for_ in acting


# fact names made once, not per request
_PARTY_FIELDS = ("type", "relation", "gezag", "discipline", "treatment_relation", "team", "kind", "is_client")
_SUBJECT_KEYS = tuple(f"subject.{x}" for x in _PARTY_FIELDS)
_RECIPIENT_KEYS = tuple(f"recipient.{x}" for x in _PARTY_FIELDS)
_NO_RECIPIENT: dict[str, FactValue] = dict(zip(_RECIPIENT_KEYS, (NONE, NONE, False, NONE, False, NONE, NONE, False)))
_MEASURE_KEYS = tuple((m, f"client.measure.{m}") for m in MEASURES)
_NO_MEASURES: dict[str, FactValue] = dict.fromkeys((key for _, key in _MEASURE_KEYS), False)
_ATTESTATION_KEYS = {k: f"attestation.{k}" for k in ATTESTATIONS}
_AUTHOR_KIND = dict.fromkeys(THIRD_PARTY_AUTHORS, "derde")


def _party_facts(keys: tuple[str, ...], party: Party, client_id: str) -> dict[str, FactValue]:
    """The party's facts; its relation as :func:`_relation` (inlined: this runs once or twice a request)."""
    type_, relation, gezag, discipline, treatment, team, kind, is_client = keys
    return {
        type_: party.type,
        relation: ("derde" if party.relation == "self" and party.id != client_id else party.relation) or NONE,
        gezag: party.gezag,
        discipline: party.discipline or NONE,
        treatment: party.treatment_relation,
        team: party.team or NONE,
        kind: party.kind or NONE,
        is_client: party.id == client_id,
    }


def _years_since(start: object, today: object) -> int:
    return -1 if start is None else max(whole_years(start, today), 0)  # type: ignore[arg-type]


def derive(req: YouthCareRequest, consent_by_age: tuple[ConsentBand, ...] = DEFAULT_CONSENT_BY_AGE) -> dict[str, FactValue]:
    """The youth-care facts of ``req`` at ``req.time``."""
    res, client, subj, act = req.resource, req.resource.client, req.subject, req.action
    today = req.today or local_date(req.time)
    born = client.birthdate
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))  # calendar.whole_years
    now = req.time
    client_id = client.id
    gezag = client.gezaghebbenden
    about_id = res.about_id
    if req.consents or req.objections:
        acting = act.recipient if act.name == "disclose" and act.recipient else subj
        names = _roles(acting, client_id)
        consenters = {p.by for p in req.consents
                      if p.given_at <= now and (p.withdrawn_at is None or now < p.withdrawn_at)
                      and _covers(p, names, res.category, req.purpose)}
        objectors = {o.by for o in req.objections if (o.given_at is None or o.given_at <= now)
                     and _objects(o, acting, names, res.category, req.purpose)}
        consent_self = client_id in consenters
        consent_gezag = not consenters.isdisjoint(gezag)
        consent_all_gezag = bool(gezag) and gezag <= consenters
        consent_about = about_id is not None and about_id in consenters
        objection_self = client_id in objectors
        objection_gezag = not objectors.isdisjoint(gezag)
    else:
        consent_self = consent_gezag = consent_all_gezag = consent_about = objection_self = objection_gezag = False
    for band in consent_by_age:
        if band.below is None or age < band.below:
            break
    # a wilsonbekwame client cannot consent himself: his band's `wilsonbekwaam` parties decide instead
    deciders = band.wilsonbekwaam if band.wilsonbekwaam and client.wilsonbekwaam else band.from_
    consent_valid = all(consent_self if p == "self" else consent_gezag for p in deciders)
    subject_id, relation = subj.id, subj.relation
    shielded = res.shielded_from
    recipient = act.recipient
    facts: dict[str, FactValue] = {
        "subject.type": subj.type,
        "subject.relation": ("derde" if relation == "self" and subject_id != client_id else relation) or NONE,
        "subject.gezag": subj.gezag,
        "subject.discipline": subj.discipline or NONE,
        "subject.treatment_relation": subj.treatment_relation,
        "subject.team": subj.team or NONE,
        "subject.kind": subj.kind or NONE,
        "subject.is_client": subject_id == client_id,
        "subject.is_gezaghebbende": subject_id in gezag,
        "subject.identity_verified": subj.identity_verified,
        "subject.is_author": res.author_id is not None and subject_id == res.author_id,
        "subject.shielded": subject_id in shielded,
        "subject.is_about": about_id is not None and subject_id == about_id,
        "action.name": act.name,
        "action.setting": act.setting or NONE,
        "action.transfer_reason": act.transfer_reason or NONE,
        "action.new_school_known": act.new_school_known,
    }
    if recipient is None:
        facts.update(_NO_RECIPIENT)
        facts["recipient.in_care"] = facts["recipient.identity_verified"] = False
        facts["recipient.shielded"] = facts["recipient.is_about"] = False
    else:
        facts.update(_party_facts(_RECIPIENT_KEYS, recipient, client_id))
        facts["recipient.in_care"] = recipient.in_care
        facts["recipient.identity_verified"] = recipient.identity_verified
        facts["recipient.shielded"] = recipient.id in shielded
        facts["recipient.is_about"] = about_id is not None and recipient.id == about_id
    about_relation = res.about_relation
    facts.update({
        "resource.type": res.type,
        "resource.dossier_type": res.dossier_type,
        "resource.category": res.category or NONE,
        "resource.author_kind": NONE if res.author_kind is None else _AUTHOR_KIND.get(res.author_kind, res.author_kind),
        "resource.confidential_from_parents": res.confidential_from_parents,
        "resource.about_other": about_id is not None and about_id != client_id,
        "resource.about_relation": NONE if about_relation is None else "derde"
        if about_relation == "self" and about_id != client_id else about_relation,
        "resource.years_since_last_change": -1 if res.last_change is None else _years_since(res.last_change, today),
        "resource.years_since_treatment_end": -1 if res.treatment_end is None
        else _years_since(res.treatment_end, today),
        "resource.years_since_created": -1 if res.created_at is None else _years_since(res.created_at, today),
        "client.age": age,
        "client.deceased": client.deceased or (client.date_of_death is not None and client.date_of_death <= today),
        "client.wilsonbekwaam": client.wilsonbekwaam,
        "context.purpose": req.purpose or NONE,
        "context.channel": req.channel or NONE,
        "context.authn_level": req.authn_level or NONE,
        "consent.self": consent_self,
        "consent.gezag": consent_gezag,
        "consent.all_gezag": consent_all_gezag,
        "consent.valid": consent_valid,
        "consent.about": consent_about,
        "objection.self": objection_self,
        "objection.gezag": objection_gezag,
    })
    measures = client.measures
    if measures:
        for m, key in _MEASURE_KEYS:
            facts[key] = m in measures
    else:
        facts.update(_NO_MEASURES)
    for kind in req.attestations:
        facts[_ATTESTATION_KEYS.get(kind) or f"attestation.{kind}"] = True
    return facts
