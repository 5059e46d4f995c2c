"""Comparing two bundles on one request: the pure step behind shadow evaluation.

Lives in the core because the service's shadow runner and the authoring diff both need it, and the
service must not depend on the authoring package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .policy.compile import CompiledBundle
from .policy.evaluate import evaluate
from .policy.values import FactValue

Kind = Literal["decision", "rules", "obligations"]
"""decision: allow <-> deny; rules: the same decision by other rules; obligations: only those differ."""


@dataclass(frozen=True, slots=True)
class Difference:
    """Where a candidate bundle would answer differently from the active one on one request."""

    kind: Kind
    active_decision: bool
    candidate_decision: bool
    active_rules: tuple[str, ...]
    candidate_rules: tuple[str, ...]
    active_obligations: tuple[str, ...]
    candidate_obligations: tuple[str, ...]
    active: str  # name@version
    candidate: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "active": {"bundle": self.active, "decision": self.active_decision, "rules": list(self.active_rules),
                       "obligations": list(self.active_obligations)},
            "candidate": {"bundle": self.candidate, "decision": self.candidate_decision,
                          "rules": list(self.candidate_rules), "obligations": list(self.candidate_obligations)},
        }


def shadow_compare(active: CompiledBundle, candidate: CompiledBundle, facts: Mapping[str, FactValue],
                   candidate_facts: Mapping[str, FactValue] | None = None) -> Difference | None:
    """Evaluate both bundles; None when they agree on decision, deciding rules and obligations.

    Pure and total (evaluate never raises). ``candidate_facts``: the facts as the candidate's
    vocabulary derives them, when they may differ (its own age thresholds or consent_by_age);
    by default both see ``facts``. Obligations compare as sets; rules as ordered tuples.
    """
    a = evaluate(active, facts)
    c = evaluate(candidate, facts if candidate_facts is None else candidate_facts)
    oa = tuple(o.id for o in a.obligations)
    oc = tuple(o.id for o in c.obligations)
    kind: Kind
    if a.decision != c.decision:
        kind = "decision"
    elif a.deciding_rules != c.deciding_rules:
        kind = "rules"
    elif set(oa) != set(oc):
        kind = "obligations"
    else:
        return None
    return Difference(kind, a.decision, c.decision, a.deciding_rules, c.deciding_rules, oa, oc,
                      active.bundle.key, candidate.bundle.key)
