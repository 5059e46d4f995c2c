"""Bundle → CompiledBundle: conditions become closures, rules are indexed by (action, category).

Compiling happens once per bundle load, off the request path. Evaluation then looks up one bucket
and runs only the rules that can apply to the request's action and category: no parsing, no scan
over the whole bundle.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..facts import FactValue
from ..verdict import BundleRef, Obligation
from ..vocabulary import NONE
from .model import All, AnyOf, Bundle, Condition, Leaf, Not, Rule, conjuncts

Facts = Mapping[str, FactValue]
Test = Callable[[Facts], bool]

_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt,
}


def compile_condition(cond: Condition) -> Test:
    """A function deciding ``cond`` on facts. Absent facts read as False (attestations are sparse).

    The condition becomes one generated Python expression (``f.get('subject.gezag', False) is True and
    ...``): a flat expression costs a fraction of a tree of closures per decision. Only names and
    constants of the plain types a Leaf may hold (str, int, bool) are written into the source, each
    with ``repr``; any other value falls back to the closures, which have the same semantics.
    """
    try:
        source = _expression(cond)
    except _NotPlain:
        return _closure(cond)
    namespace: dict[str, object] = {"__builtins__": {}}
    exec(f"def test(f):\n    g = f.get\n    return {source}\n", namespace)  # noqa: S102 - see docstring
    test: Test = namespace["test"]  # type: ignore[assignment]
    return test


class _NotPlain(Exception):
    """A condition holds a value that is not a plain str, int or bool: not generated, closures instead."""


def _constant(value: object) -> str:
    if type(value) not in (str, int, bool):
        raise _NotPlain
    return repr(value)


def _expression(cond: Condition) -> str:
    """``cond`` as a Python expression over ``f`` (the facts) and ``g`` (``f.get``); always a bool."""
    if isinstance(cond, Leaf):
        name = _constant(cond.fact)
        value = cond.value
        if cond.op == "equals":
            if value is True or value is False:
                return f"(g({name}, False) is {value})"
            return f"(g({name}) == {_constant(value)})"
        if cond.op == "in":
            options = ", ".join(_constant(v) for v in value)  # type: ignore[union-attr]
            return f"(g({name}) in {{{options}}})" if options else "False"
        symbol = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}[cond.op]
        return f"(f[{name}] {symbol} {_constant(int(value))})"  # type: ignore[arg-type]
    if isinstance(cond, Not):
        return f"(not {_expression(cond.item)})"
    if not cond.items:
        return "True" if isinstance(cond, All) else "False"
    joiner = " and " if isinstance(cond, All) else " or "
    return "(" + joiner.join(_expression(c) for c in cond.items) + ")"


def _closure(cond: Condition) -> Test:
    """The same decision as nested closures (the fallback of :func:`compile_condition`)."""
    if isinstance(cond, Leaf):
        return _leaf(cond)
    if isinstance(cond, Not):
        inner = _closure(cond.item)
        return lambda f: not inner(f)
    tests = tuple(_closure(c) for c in cond.items)
    if len(tests) == 1:
        return tests[0]
    if isinstance(cond, All):
        return lambda f: all(t(f) for t in tests)
    assert isinstance(cond, AnyOf)
    return lambda f: any(t(f) for t in tests)


def _leaf(leaf: Leaf) -> Test:
    name, value = leaf.fact, leaf.value
    if leaf.op == "equals":
        if value is True:
            return lambda f: f.get(name, False) is True
        if value is False:
            return lambda f: f.get(name, False) is False
        return lambda f: f.get(name) == value
    if leaf.op == "in":
        options = frozenset(value)  # type: ignore[arg-type]
        return lambda f: f.get(name) in options
    compare = _COMPARE[leaf.op]
    bound = int(value)  # type: ignore[arg-type]
    return lambda f: compare(f[name], bound)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    test: Test
    obligations: tuple[Obligation, ...]
    parts: tuple[tuple[Condition, Test], ...]  # top-level conjuncts, for explanations and `missing`


@dataclass(frozen=True, slots=True)
class Bucket:
    """The rules that can apply to one (action, category), deny rules first."""

    denies: tuple[CompiledRule, ...]
    allows: tuple[CompiledRule, ...]


EMPTY_BUCKET = Bucket((), ())


@dataclass(frozen=True, slots=True)
class CompiledBundle:
    bundle: Bundle
    ref: BundleRef
    index: dict[tuple[str, str], Bucket]

    def bucket(self, action: str, category: str) -> Bucket:
        return self.index.get((action, category), EMPTY_BUCKET)


def compile_bundle(bundle: Bundle, revision: str) -> CompiledBundle:
    """Index every rule under each (action, category) it covers; keeps file order within a bucket."""
    actions = bundle.vocabulary.actions
    cat_spec = bundle.vocabulary.fact("resource.category")
    categories = cat_spec.values if cat_spec else (NONE,)
    compiled = [
        CompiledRule(
            r, compile_condition(r.condition),
            tuple(Obligation(o, bundle.obligations[o]) for o in r.obligations),
            tuple((c, compile_condition(c)) for c in conjuncts(r.condition)),
        )
        for r in bundle.rules
    ]
    index: dict[tuple[str, str], Bucket] = {}
    for action in actions:
        for category in categories:
            fits = [c for c in compiled
                    if (c.rule.actions is None or action in c.rule.actions)
                    and (c.rule.categories is None or category in c.rule.categories)]
            if fits:
                index[(action, category)] = Bucket(
                    tuple(c for c in fits if c.rule.effect == "deny"),
                    tuple(c for c in fits if c.rule.effect == "allow"),
                )
    return CompiledBundle(bundle, BundleRef(bundle.name, bundle.version, revision), index)
