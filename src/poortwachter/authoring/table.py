"""The complete decision table of a bundle, as few readable rows (exact, not sampled).

A :class:`Table` splits the decision space (see :mod:`.explore`) only on who does what to which
category at which age, and lists in each row the rules that can still apply there with what is left
of their conditions; a :class:`FlatTable` splits until each region has one verdict. Rendering is in
:mod:`.table_render`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..core.policy.model import Bundle, Rule
from ..core.policy.values import FactValue
from .explore import explore
from .literals import TRUE, Cond, holds, mentions
from .programs import DEFAULT_DENY, Outcome, Program, Region, State, guarded, outcomes_settle
from .regions import Locator, merge, sort_regions
from .space import Space

BY = ("action.name", "resource.category", "subject.type", "subject.relation", "subject.gezag", "client.age")
"""The facts rows are laid out by (who does what to which category at which age), if the space has them."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A rule within a row, with the part of its condition the row's constraints leave open."""

    index: int
    rule: Rule
    cond: Cond

    @property
    def always(self) -> bool:
        return self.cond is TRUE


@dataclass(frozen=True, slots=True)
class Row:
    """Who/what/age constraints, and the decision list that decides every combination in them:
    deny if any refusal's condition holds (naming all that hold); else allow if any permission's
    condition holds (naming all that hold); else deny by default."""

    masks: tuple[int, ...]
    refusals: tuple[Entry, ...]
    permissions: tuple[Entry, ...]

    @property
    def summary(self) -> str:
        if any(e.always for e in self.refusals):
            return "deny"
        if any(e.always for e in self.permissions):
            return "allow, unless refused" if self.refusals else "allow"
        if self.permissions:
            return "allow if …"
        return "deny (no rule allows)"

    @property
    def colour(self) -> str:
        """allow | conditional | deny | default: the matrix's colours."""
        return {"deny": "deny", "allow": "allow", "allow, unless refused": "allow", "allow if …": "conditional",
                "deny (no rule allows)": "default"}[self.summary]


def _row_key(states: Sequence[State], by: set[int]) -> tuple[Any, list[Cond]]:
    st = states[0]
    rel = [c for _, c in (*st.denies, *st.allows) if c is not TRUE and mentions(c, by)]
    if rel:
        return None, rel
    return (tuple(st.denies), tuple(st.allows)), []


class Table:
    """The complete decision table of one bundle, as rows over who/what/age (see :data:`BY`).

    Splitting stops at the facts of ``by``: a row is a combination of classes of these facts, and
    holds the rules that can still apply there, each with what is left of its condition. Every
    combination of facts lies in exactly one row, and the row's decision list gives its verdict,
    exactly as the evaluator does (deny overrides allow and names every deny rule that applies;
    without any applicable rule, default deny). Rows with the same list are merged.
    """

    def __init__(self, bundle: Bundle, by: Sequence[str] = BY, space: Space | None = None) -> None:
        self.bundle = bundle
        self.space = space or Space((bundle,))
        self.by = tuple(f for f in by if f in self.space.index)
        self.program = Program(bundle, self.space)
        dims = {self.space.index[f] for f in self.by}
        self.cells = explore(self.space, [self.program], lambda s: _row_key(s, dims), order=self.by, only=self.by)
        rules = bundle.rules
        self.rows: list[Row] = []
        for r in sort_regions(merge(self.cells, self.space)):
            denies, allows = r.key
            self.rows.append(Row(r.masks, tuple(Entry(i, rules[i], c) for i, c in denies),
                                 tuple(Entry(i, rules[i], c) for i, c in allows)))

    def row_at(self, facts: Mapping[str, FactValue]) -> Row:
        """The row of the facts (only the facts of ``by`` are needed)."""
        dims = [(self.space.index[f], self.space.dim(f).index(facts.get(f))) for f in self.by]
        for row in self.rows:
            if all(row.masks[d] >> i & 1 for d, i in dims):
                return row
        raise KeyError("no row holds these facts (a combination no request can produce)")

    def verdict(self, facts: Mapping[str, FactValue]) -> Outcome:
        """The table's verdict on concrete facts: the row's decision list, evaluated."""
        row = self.row_at(facts)
        point = self.space.locate(facts)
        denied = [e.index for e in row.refusals if holds(e.cond, point)]
        if denied:
            return self.program.outcome(False, denied)
        allowed = [e.index for e in row.permissions if holds(e.cond, point)]
        return self.program.outcome(True, allowed) if allowed else DEFAULT_DENY

    def deciding(self) -> set[str]:
        return {e.rule.id for row in self.rows for e in (*row.refusals, *row.permissions)}


class FlatTable:
    """Disjoint regions, each with one exact verdict (deciding rules and obligations).

    Exact and simple, but overlapping rules multiply rows (every combination of applicable deny
    rules is its own verdict): meant for small bundles and for checking; ``max_leaves`` guards.
    """

    def __init__(self, bundle: Bundle, max_leaves: int = 20_000, space: Space | None = None) -> None:
        self.bundle = bundle
        self.space = space or Space((bundle,))
        self.program = Program(bundle, self.space)
        settle = guarded(outcomes_settle([self.program]), max_leaves,
                         f"{bundle.key}: the flat table (use the row table)")
        leaves = explore(self.space, [self.program], settle)
        self.regions = sort_regions(merge((Region(r.masks, r.key[0]) for r in leaves), self.space))

    def verdict(self, facts: Mapping[str, FactValue]) -> Outcome:
        found = self._locator.find(facts)
        if found is None:
            raise KeyError("no region holds these facts (a combination no request can produce)")
        return found.key  # type: ignore[no-any-return]

    @cached_property
    def _locator(self) -> Locator:
        return Locator(self.space, self.regions)
