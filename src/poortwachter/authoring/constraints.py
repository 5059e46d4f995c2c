"""The dependencies between derived facts of the youth-care vocabulary that no request can break.

A valid consent is a function of the age and of who consented; a dossier item has a category; a
disclosure names its recipient, and without one every recipient fact is none or false. The decision
space (space.py) leaves out combinations that break one, so tables, diffs and the matrix show only
what a request can produce (see core.facts.derive for where the facts come from).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..core.policy.model import Bundle
from ..core.policy.values import ConsentBand, FactValue
from ..core.vocabulary import NONE

_CATEGORY, _ACTION = "resource.category", "action.name"
CONSENT_VALID = "consent.valid"


@dataclass(frozen=True)
class Constraint:
    """A dependency between derived facts that every request respects.

    ``holds`` gets a dict of concrete values for ``facts``; facts outside the space are tried over
    ``samples`` (existential projection: a region is dropped only if no values of those facts fit).
    """

    why: str
    facts: tuple[str, ...]
    holds: Callable[[Mapping[str, FactValue]], bool]
    samples: Mapping[str, tuple[FactValue, ...]] = field(default_factory=dict)


def _band(age: int, bands: Sequence[ConsentBand]) -> ConsentBand:
    return next(b for b in bands if b.below is None or age < b.below)


def youth_care_constraints(bundles: Sequence[Bundle], expand_consent: bool = False) -> list[Constraint]:
    """What derived facts of the youth-care vocabulary cannot do (see core.facts.derive).

    With ``expand_consent`` the analysis replaced ``consent.valid`` by its definition (the bundles
    define it differently), so only the link between all_gezag and gezag remains.
    """
    found: list[Constraint] = []
    if expand_consent:
        found.append(Constraint("consent of all gezag holders includes a gezag holder's",
                                ("consent.gezag", "consent.all_gezag"),
                                lambda f: not f["consent.all_gezag"] or bool(f["consent.gezag"])))
        bundles = bundles[:1]
    ages: set[int] = {0}
    for b in bundles:
        ages.update(band.below for band in b.consent_by_age if band.below is not None)
    age_samples = tuple(sorted(ages))
    for n, bundle in enumerate(bundles):
        bands = bundle.consent_by_age

        def consent_ok(f: Mapping[str, FactValue], bands: Sequence[ConsentBand] = bands) -> bool:
            have = {"self": f["consent.self"], "gezag": f["consent.gezag"]}
            band = _band(int(f["client.age"]), bands)
            valid = all(have[p] for p in band.from_)
            wb = getattr(band, "wilsonbekwaam", ())
            if not valid and wb and f["client.wilsonbekwaam"]:
                valid = all(have[p] for p in wb)
            return f["consent.valid"] is valid and (not f["consent.all_gezag"] or bool(f["consent.gezag"]))

        if not expand_consent:
            found.append(Constraint(
                f"consent.valid is the consent of whoever consent_by_age names for the client's age "
                f"({bundle.key}); consent of all gezag holders includes a gezag holder's",
                ("consent.valid", "client.age", "consent.self", "consent.gezag", "consent.all_gezag",
             "client.wilsonbekwaam"),
                consent_ok, {"client.age": age_samples},
            ))
        if n == 0:
            found.append(Constraint(
                "a dossier item has a category", ("resource.type", _CATEGORY),
                lambda f: not (f["resource.type"] == "dossier_item" and f[_CATEGORY] == NONE)))
            found.append(Constraint(
                "a disclosure names its recipient", (_ACTION, "recipient.type"),
                lambda f: not (f[_ACTION] == "disclose" and f["recipient.type"] == NONE)))
            for fact in ("relation", "discipline", "team", "kind"):
                name = f"recipient.{fact}"
                found.append(Constraint(
                    "without a recipient, recipient facts are none", ("recipient.type", name),
                    lambda f, name=name: f["recipient.type"] != NONE or f[name] == NONE))  # type: ignore[misc]
            for fact in ("gezag", "treatment_relation", "in_care", "is_client"):
                name = f"recipient.{fact}"
                found.append(Constraint(
                    "without a recipient, recipient facts are false", ("recipient.type", name),
                    lambda f, name=name: f["recipient.type"] != NONE or f[name] is False))  # type: ignore[misc]
    return found
