"""What the split of a decision space settles: programs (a bundle's rules as conditions), outcomes and regions.

A :class:`Program` is a bundle's rules over a :class:`.space.Space`; a :class:`State` the rules of one program
still in play at a node of the split; a settle function says when a node's key (an :class:`Outcome`, a
change of a diff …) is known. :mod:`.explore` does the split, :mod:`.regions` merges, orders and locates
its leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import PoortwachterError
from ..core.policy.model import Bundle, Rule
from .constraints import _ACTION, _CATEGORY
from .literals import AND, TRUE, Cond, consent_definition, join, lit, to_literals
from .space import Space

# ---------------------------------------------------------------------------------------------
# programs and outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on a region: decision, deciding rules (bundle order) and obligation ids."""

    decision: bool
    rules: tuple[str, ...]
    obligations: tuple[str, ...]

    @property
    def default(self) -> bool:
        return self.rules == ("default-deny",)

    @property
    def verdict(self) -> str:
        return "allow" if self.decision else "deny (default)" if self.default else "deny"

    def as_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "default": self.default, "rules": list(self.rules),
                "obligations": list(self.obligations)}


DEFAULT_DENY = Outcome(False, ("default-deny",), ())


class Program:
    """Rules of a bundle as literal trees over a space (each includes its action and category).

    ``keep`` selects rules (the table's layers analyse deny and allow rules apart); indices stay
    those of the bundle, so deciding rules keep bundle order.
    """

    def __init__(self, bundle: Bundle, space: Space, keep: Callable[[Rule], bool] | None = None) -> None:
        self.bundle = bundle
        self.all_rules: tuple[Rule, ...] = bundle.rules
        actions = space.dim(_ACTION)
        cat_spec = bundle.vocabulary.fact(_CATEGORY)
        valid = consent_definition(bundle.consent_by_age) if space.expand_consent else None
        self.items: list[tuple[int, Rule, Cond]] = []
        for i, rule in enumerate(bundle.rules):
            if keep is not None and not keep(rule):
                continue
            parts = [lit(space.index[_ACTION], actions.mask_of(a for a in actions.values
                                                                  if rule.actions is None or a in rule.actions),
                          actions.full)]
            if cat_spec is not None:
                cats = space.dim(_CATEGORY)
                indexed = cat_spec.values if cat_spec.kind == "enum" else ()  # as compile_bundle indexes
                ok = [c for c in cats.values if c in indexed and (rule.categories is None or c in rule.categories)]
                parts.append(lit(space.index[_CATEGORY], cats.mask_of(ok), cats.full))
            parts.append(to_literals(rule.condition, space, valid=valid))
            self.items.append((i, rule, join(AND, parts)))
        self._outcomes: dict[tuple[bool, tuple[int, ...]], Outcome] = {}

    def outcome(self, decision: bool, indices: Sequence[int]) -> Outcome:
        key = (decision, tuple(indices))
        found = self._outcomes.get(key)
        if found is None:
            rules = [self.all_rules[i] for i in sorted(indices)]
            obligations: dict[str, None] = {}
            for r in rules:
                for o in r.obligations:
                    obligations.setdefault(o)
            found = Outcome(decision, tuple(r.id for r in rules), tuple(obligations))
            self._outcomes[key] = found
        return found


# ---------------------------------------------------------------------------------------------
# the engine


@dataclass(frozen=True, slots=True)
class Region:
    """A conjunction of fact constraints (one mask per fact of the space) and what holds there."""

    masks: tuple[int, ...]
    key: Any  # an Outcome, a tuple of them, a diff.Change …


class State:
    """The rules of one program not yet false at a node: (rule index, residual condition)."""

    __slots__ = ("allows", "denies")

    def __init__(self, denies: list[tuple[int, Cond]], allows: list[tuple[int, Cond]]) -> None:
        self.denies, self.allows = denies, allows


SKIP = object()
"""A settle function's answer for a subtree that is settled and not wanted (e.g. unchanged)."""

Settle = Callable[[Sequence[State]], tuple[Any, list[Cond]]]
"""(states) → (key, []) when settled (SKIP: leave it out), or (None, conditions to split on)."""


def settle_outcome(program: Program, st: State) -> tuple[Outcome | None, list[Cond]]:
    """The full verdict (every applicable rule of the deciding effect), or what it depends on."""
    dt = [i for i, c in st.denies if c is TRUE]
    du = [c for _, c in st.denies if c is not TRUE]
    if dt:
        return (program.outcome(False, dt), []) if not du else (None, du)
    au = [c for _, c in st.allows if c is not TRUE]
    if du:
        return None, du + au
    if au:
        return None, au
    at = [i for i, c in st.allows if c is TRUE]
    return (program.outcome(True, at) if at else DEFAULT_DENY), []


def settle_kind(st: State) -> tuple[str | None, list[Cond]]:
    """Only the kind of verdict: allow, deny (by a rule) or default (no rule applied)."""
    if any(c is TRUE for _, c in st.denies):
        return "deny", []
    du = [c for _, c in st.denies]
    allow_true = any(c is TRUE for _, c in st.allows)
    au = [c for _, c in st.allows if c is not TRUE]
    if du:
        return None, du if allow_true else du + au
    if allow_true:
        return "allow", []
    return (None, au) if au else ("default", [])


def outcomes_settle(programs: Sequence[Program]) -> Settle:
    def settle(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        found, rel = [], []
        for p, st in zip(programs, states):
            o, r = settle_outcome(p, st)
            found.append(o)
            rel.extend(r)
        return (None, rel) if rel else (tuple(found), [])
    return settle


class TooLarge(PoortwachterError):
    """An analysis would have more regions than its limit (the bundles are too different to list)."""


def guarded(settle: Settle, limit: int, what: str) -> Settle:
    """``settle`` that raises :class:`TooLarge` after ``limit`` settled leaves."""
    count = 0

    def inner(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        nonlocal count
        key, rel = settle(states)
        if not rel:
            count += 1
            if count > limit:
                raise TooLarge(f"{what}: more than {limit} regions")
        return key, rel
    return inner
