"""The answer of the evaluator: decision, the rules that decided, duties and what would change it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Effect = Literal["allow", "deny"]


@dataclass(frozen=True, slots=True)
class Text:
    """A text in Dutch (the law's language, shown to clients) and English."""

    nl: str
    en: str


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    effect: Effect
    text: Text
    basis: tuple[str, ...]
    source: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Obligation:
    """A duty the caller must carry out; a caller that cannot must treat the answer as deny."""

    id: str
    text: Text


@dataclass(frozen=True, slots=True)
class Missing:
    """A fact the caller could obtain that would let ``rule`` allow (e.g. ``consent.self``)."""

    fact: str
    text: Text
    rule: str


@dataclass(frozen=True, slots=True)
class BundleRef:
    name: str
    version: str
    revision: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Deterministic for a compiled bundle and facts; identifiers of the call are added by the shell."""

    decision: bool
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...]
    missing: tuple[Missing, ...]
    bundle: BundleRef
    errors: tuple[str, ...] = ()
    #: the ids of the deciding rules and of the obligations, as the decision log and traces name them: made
    #: once, since one verdict is shared by every decision with its outcome (policy/evaluate.py)
    deciding_rules: tuple[str, ...] = field(init=False, repr=False, compare=False)
    obligation_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "deciding_rules", tuple(r.rule for r in self.reasons))
        object.__setattr__(self, "obligation_ids", tuple(o.id for o in self.obligations))


DEFAULT_DENY = Reason(
    rule="default-deny",
    effect="deny",
    text=Text("Geen regel in dit beleid staat dit toe.", "No rule of this policy allows this."),
    basis=(),
    source=(),
)
EVALUATION_ERROR = Text(
    "Dit verzoek kon niet volledig worden beoordeeld; daarom geweigerd.",
    "This request could not be fully evaluated; therefore denied.",
)
