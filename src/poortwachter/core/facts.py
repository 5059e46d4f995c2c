"""Derived facts: what rules see instead of the raw request.

Everything time-dependent is settled here, at ``context.time``: the age (never the birthdate), whether
a consent is valid now, whether a date of death has passed. That is what lets the decision cache key
on facts (a cached verdict stays right across a birthday or a withdrawal) and makes the decision
space finite for tables and diffs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .calendar import local_date, whole_years
from .request import Party, Permission, YouthCareRequest
from .vocabulary import MEASURES, NONE

FactValue = str | bool | int
Facts = Mapping[str, FactValue]


@dataclass(frozen=True, slots=True)
class ConsentBand:
    """``from_`` must all consent for clients below ``below`` years (None: no upper bound)."""

    below: int | None
    from_: tuple[str, ...]


DEFAULT_CONSENT_BY_AGE = (
    ConsentBand(12, ("gezag",)),
    ConsentBand(16, ("self", "gezag")),
    ConsentBand(None, ("self",)),
)


def age_band(age: int, thresholds: tuple[int, ...]) -> str:
    """Label of the band ``age`` falls in, e.g. ``12-15`` for thresholds (12, 16, 18)."""
    lower = 0
    for t in thresholds:
        if age < t:
            return f"{lower}-{t - 1}"
        lower = t
    return f"{lower}+"


def _roles(party: Party) -> set[str]:
    """Ids and role names a consent's ``for`` may use to name this party."""
    return {x for x in (party.id, party.relation, party.discipline, party.kind, party.type) if x}


def _covers(p: Permission, acting: set[str], category: str | None, purpose: str | None) -> bool:
    if p.for_ not in acting:
        return False
    if p.scope == "research":
        return purpose == "research"
    return p.scope == "dossier" or p.scope == category


def _party_facts(prefix: str, party: Party | None, client_id: str) -> dict[str, FactValue]:
    if party is None:
        return {
            f"{prefix}.type": NONE, f"{prefix}.relation": NONE, f"{prefix}.gezag": False,
            f"{prefix}.discipline": NONE, f"{prefix}.treatment_relation": False, f"{prefix}.team": NONE,
            f"{prefix}.kind": NONE, f"{prefix}.is_client": False,
        }
    return {
        f"{prefix}.type": party.type,
        f"{prefix}.relation": party.relation or NONE,
        f"{prefix}.gezag": party.gezag,
        f"{prefix}.discipline": party.discipline or NONE,
        f"{prefix}.treatment_relation": party.treatment_relation,
        f"{prefix}.team": party.team or NONE,
        f"{prefix}.kind": party.kind or NONE,
        f"{prefix}.is_client": party.id == client_id,
    }


def _years_since(start: object, today: object) -> int:
    return -1 if start is None else max(whole_years(start, today), 0)  # type: ignore[arg-type]


def derive(req: YouthCareRequest, consent_by_age: tuple[ConsentBand, ...] = DEFAULT_CONSENT_BY_AGE) -> dict[str, FactValue]:
    """The youth-care facts of ``req`` at ``req.time``."""
    res, client, subj, act = req.resource, req.resource.client, req.subject, req.action
    today = local_date(req.time)
    age = whole_years(client.birthdate, today)
    acting = act.recipient if act.name == "disclose" and act.recipient else subj
    names = _roles(acting)
    now = req.time

    def valid(p: Permission) -> bool:
        return p.given_at <= now and (p.withdrawn_at is None or now < p.withdrawn_at) and _covers(
            p, names, res.category, req.purpose)

    consenters = {p.by for p in req.consents if valid(p)}
    objectors = {p.by for p in req.objections if p.given_at <= now and _covers(p, names, res.category, req.purpose)}
    gezag = client.gezaghebbenden
    party_ok = {
        "self": client.id in consenters,
        "gezag": bool(consenters & gezag),
    }
    band = next(b for b in consent_by_age if b.below is None or age < b.below)
    facts: dict[str, FactValue] = {
        **_party_facts("subject", subj, client.id),
        "subject.is_gezaghebbende": subj.id in gezag,
        "subject.identity_verified": subj.identity_verified,
        "subject.is_author": res.author_id is not None and subj.id == res.author_id,
        "subject.shielded": subj.id in res.shielded_from,
        "subject.is_about": res.about_id is not None and subj.id == res.about_id,
        "action.name": act.name,
        "action.setting": act.setting or NONE,
        "action.transfer_reason": act.transfer_reason or NONE,
        "action.new_school_known": act.new_school_known,
        **_party_facts("recipient", act.recipient, client.id),
        "recipient.in_care": act.recipient.in_care if act.recipient else False,
        "resource.type": res.type,
        "resource.dossier_type": res.dossier_type,
        "resource.category": res.category or NONE,
        "resource.author_kind": res.author_kind or NONE,
        "resource.confidential_from_parents": res.confidential_from_parents,
        "resource.about_other": res.about_id is not None and res.about_id != client.id,
        "resource.about_relation": res.about_relation or NONE,
        "resource.years_since_last_change": _years_since(res.last_change, today),
        "resource.years_since_treatment_end": _years_since(res.treatment_end, today),
        "client.age": age,
        "client.deceased": client.deceased or (client.date_of_death is not None and client.date_of_death <= today),
        "client.wilsonbekwaam": client.wilsonbekwaam,
        "context.purpose": req.purpose or NONE,
        "context.channel": req.channel or NONE,
        "context.authn_level": req.authn_level or NONE,
        "consent.self": party_ok["self"],
        "consent.gezag": party_ok["gezag"],
        "consent.all_gezag": bool(gezag) and gezag <= consenters,
        "consent.valid": all(party_ok[p] for p in band.from_),
        "objection.self": client.id in objectors,
        "objection.gezag": bool(objectors & gezag),
    }
    for m in MEASURES:
        facts[f"client.measure.{m}"] = m in client.measures
    for kind in req.attestations:
        facts[f"attestation.{kind}"] = True
    return facts
