"""The bundle language as values: conditions, rules and bundles (what parse.py produces).

Conditions are a small closed algebra (all/any/not over leaf comparisons of a derived fact with a
constant). Being data, they can be compiled to closures, partially evaluated for decision tables and
rendered in words for the rule reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ..errors import Span
from ..verdict import Effect, Text
from ..vocabulary import Vocabulary
from .values import ConsentBand, FactValue

Op = Literal["equals", "in", "gte", "gt", "lte", "lt"]
ANY_ACTION = "any"


@dataclass(frozen=True, slots=True)
class Leaf:
    fact: str
    op: Op
    value: FactValue | tuple[FactValue, ...]


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Leaf | All | AnyOf | Not
TRUE = All(())


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    effect: Effect
    actions: frozenset[str] | None  # None: every action
    categories: frozenset[str] | None  # None: every category and the whole dossier
    condition: Condition
    obligations: tuple[str, ...]
    reason: Text
    basis: tuple[str, ...]
    source: tuple[str, ...]
    span: Span
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    """A validated bundle: overlays are already merged, so a Bundle is always self-contained."""

    name: str
    version: str
    effective_from: date
    description: str
    vocabulary: Vocabulary
    thresholds: dict[str, tuple[int, ...]]
    consent_by_age: tuple[ConsentBand, ...]
    obligations: dict[str, Text]
    rules: tuple[Rule, ...]
    extends: str | None = None
    base_version: str | None = None
    removed: tuple[str, ...] = field(default=())
    dossier_types: tuple[str, ...] = ()  # the dossier types whose requests this bundle may decide

    def governs(self, dossier_type: str | None) -> bool:
        """Whether this bundle's law applies to a dossier of ``dossier_type``. A bundle that declares
        none (a fixture with its own vocabulary) governs only requests that name no dossier type."""
        if not self.dossier_types:
            return dossier_type is None
        return dossier_type in self.dossier_types

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


def leaves(cond: Condition) -> list[Leaf]:
    """Every leaf of a condition, left to right."""
    if isinstance(cond, Leaf):
        return [cond]
    if isinstance(cond, Not):
        return leaves(cond.item)
    return [leaf for item in cond.items for leaf in leaves(item)]


def conjuncts(cond: Condition) -> tuple[Condition, ...]:
    """The top-level parts that must all hold (for explanations and ``missing``)."""
    if isinstance(cond, All):
        return tuple(c for item in cond.items for c in conjuncts(item))
    return (cond,)


_OP_WORDS = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<"}


def describe(cond: Condition) -> str:
    """The condition in words, as the rule reference and explanations print it."""
    if isinstance(cond, Leaf):
        if cond.op == "equals":
            if cond.value is True:
                return cond.fact
            if cond.value is False:
                return f"not {cond.fact}"
            return f"{cond.fact} = {cond.value}"
        if cond.op == "in":
            assert isinstance(cond.value, tuple)
            return f"{cond.fact} in {{{', '.join(map(str, cond.value))}}}"
        return f"{cond.fact} {_OP_WORDS[cond.op]} {cond.value}"
    if isinstance(cond, Not):
        return f"not ({describe(cond.item)})"
    if not cond.items:
        return "always"
    joiner = " and " if isinstance(cond, All) else " or "
    parts = [describe(i) if isinstance(i, Leaf | Not) else f"({describe(i)})" for i in cond.items]
    return joiner.join(parts)
