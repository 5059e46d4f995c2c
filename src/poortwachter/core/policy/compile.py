"""Bundle → CompiledBundle: conditions become closures, rules are indexed by (action, category).

Compiling happens once per bundle load, off the request path. Evaluation then looks up one bucket
and runs only the rules that can apply to the request's action and category: no parsing, no scan
over the whole bundle.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..verdict import BundleRef, Obligation, Reason, Verdict
from ..vocabulary import NONE, Vocabulary
from .model import All, AnyOf, Bundle, Condition, Leaf, Not, Rule, conjuncts
from .values import FactValue

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
    exec(f"def test(f):\n    return {source}\n", namespace)  # noqa: S102 - see docstring
    test: Test = namespace["test"]  # type: ignore[assignment]
    return test


class _NotPlain(Exception):
    """A condition holds a value that is not a plain str, int or bool: not generated, closures instead."""


def _constant(value: object) -> str:
    if type(value) not in (str, int, bool):
        raise _NotPlain
    return repr(value)


def _expression(cond: Condition) -> str:
    """``cond`` as a Python expression over ``f`` (the facts); always a bool. (``f.get(...)`` each time:
    in Python 3.11 that method call is quicker than calling ``f.get`` bound once to a name.)"""
    if isinstance(cond, Leaf):
        name = _constant(cond.fact)
        value = cond.value
        if cond.op == "equals":
            if value is True or value is False:
                return f"(f.get({name}, False) is {value})"
            return f"(f.get({name}) == {_constant(value)})"
        if cond.op == "in":
            options = ", ".join(_constant(v) for v in value)  # type: ignore[union-attr]
            return f"(f.get({name}) in {{{options}}})" if options else "False"
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


def obtainable(cond: Condition, vocab: Vocabulary, want: bool = True) -> tuple[str, ...]:
    """Obtainable facts that, once true (or false, under a not), would make ``cond`` hold."""
    if isinstance(cond, Leaf):
        spec = vocab.fact(cond.fact)
        if spec is not None and spec.obtainable and cond.op == "equals" and cond.value is want:
            return (cond.fact,)
        return ()
    if isinstance(cond, Not):
        return obtainable(cond.item, vocab, not want)
    if isinstance(cond, AnyOf) and want:
        return tuple(f for item in cond.items for f in obtainable(item, vocab, want))
    return ()


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    test: Test
    obligations: tuple[Obligation, ...]
    parts: tuple[tuple[Condition, Test], ...]  # top-level conjuncts, for explanations and `missing`
    #: per part, the obtainable facts that would make it hold (for `missing`; settled here, once)
    wants: tuple[tuple[str, ...], ...] = ()
    #: the obtainable facts that would lift this rule (a deny) under one of its `not` parts
    lifted_by: tuple[str, ...] = ()
    #: the Reason a verdict names this rule with; made once here, shared by every verdict (immutable)
    reason: Reason = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        r = self.rule
        object.__setattr__(self, "reason", Reason(r.id, r.effect, r.reason, r.basis, r.source))


Rules = tuple[CompiledRule, ...]


@dataclass(frozen=True, slots=True)
class Bucket:
    """The rules that can apply to one (action, category), deny rules first.

    ``split`` is a finer index inside the bucket: for each value of one enum fact (``split_fact``, e.g.
    ``subject.type``), the smaller bucket of the denies and allows that can still apply (itself split
    again on another fact when that pays). A rule is left out of a value's share only when it could
    not apply there anyway: one of its leading conjuncts demands another value of that fact and
    nothing before that conjunct can raise (see :func:`_gate`). ``denies``/``allows`` stay complete
    (explanations, and the fallback for values the split does not know).
    """

    denies: Rules
    allows: Rules
    split_fact: str | None = None
    split: dict[str, Bucket] | None = None

    def share(self, facts: Facts) -> Bucket:
        """The bucket of the rules to test for ``facts``: the deepest share that fits, else this one."""
        bucket = self
        while bucket.split is not None:
            value = facts.get(bucket.split_fact)  # type: ignore[arg-type]
            share = bucket.split.get(value) if type(value) is str else None
            if share is None:
                break
            bucket = share
        return bucket


EMPTY_BUCKET = Bucket((), ())


def _cannot_raise(cond: Condition) -> bool:
    """True when deciding ``cond`` never raises on facts of plain values: no comparison leaf (those
    index the facts and fail on a missing one); equals/in read with ``get``."""
    if isinstance(cond, Leaf):
        return cond.op in ("equals", "in")
    if isinstance(cond, Not):
        return _cannot_raise(cond.item)
    return all(_cannot_raise(c) for c in cond.items)


def _gate(rule: CompiledRule, fact: str) -> frozenset[str] | None:
    """The values of ``fact`` the rule can apply for, from its leading conjuncts (None: any value).

    Only conjuncts reached without a possible exception count, so leaving the rule out for other
    values changes neither the verdict nor the errors it would have recorded, nor ``missing`` (the
    split fact is never an obtainable one, so a rule failing on it contributes nothing there).
    """
    allowed: frozenset[str] | None = None
    for cond, _ in rule.parts:
        if isinstance(cond, Leaf) and cond.fact == fact and cond.op in ("equals", "in"):
            values = (cond.value,) if cond.op == "equals" else cond.value
            here = frozenset(v for v in values if type(v) is str)  # type: ignore[union-attr]
            allowed = here if allowed is None else allowed & here
        if not _cannot_raise(cond):
            break
    return allowed


Memo = dict[tuple[tuple[int, ...], frozenset[str], int], Bucket]


def _bucket(denies: Rules, allows: Rules, vocabulary: Vocabulary, memo: Memo, used: frozenset[str] = frozenset(),
            depth: int = 2) -> Bucket:
    """A bucket of these rules, split on the enum fact whose values cut it down most (if one pays).

    Shares with the same rules are one object (``memo``, per bundle): many values and many buckets
    end up with the same few rules, and every object here lives as long as the bundle (and is walked
    by each full garbage collection of the service).
    """
    key = (tuple(map(id, denies)) + (-1,) + tuple(map(id, allows)), used, depth)
    found = memo.get(key)
    if found is not None:
        return found
    rules = (*denies, *allows)
    best: tuple[float, str, dict[str, tuple[Rules, Rules]]] | None = None
    facts = sorted({leaf.fact for r in rules for leaf in _gate_leaves(r)} - used) if depth > 0 else []
    for fact in facts:
        spec = vocabulary.fact(fact)
        if spec is None or spec.kind != "enum" or spec.obtainable:
            continue
        gates = {id(r): _gate(r, fact) for r in rules}

        def fits(rule: CompiledRule, value: str, gates: dict[int, frozenset[str] | None] = gates) -> bool:
            gate = gates[id(rule)]
            return gate is None or value in gate

        values = set(spec.values).union(*(g for g in gates.values() if g is not None))
        share = {v: (tuple(r for r in denies if fits(r, v)), tuple(r for r in allows if fits(r, v)))
                 for v in sorted(values)}
        cost = sum(len(d) + len(a) for d, a in share.values()) / len(share)
        if best is None or cost < best[0]:
            best = (cost, fact, share)
    if best is None or best[0] > 0.8 * len(rules):
        bucket = Bucket(denies, allows)
    else:
        _, fact, share = best
        bucket = Bucket(denies, allows, fact, {v: _bucket(d, a, vocabulary, memo, used | {fact}, depth - 1)
                                               for v, (d, a) in share.items()})
    memo[key] = bucket
    return bucket


def _gate_leaves(rule: CompiledRule) -> list[Leaf]:
    return [c for c, _ in rule.parts if isinstance(c, Leaf) and c.op in ("equals", "in")]


#: (denies, allows) of a share that apply to the facts; allows are not tested once a deny applies
Applying = Callable[[Facts], tuple[list[CompiledRule], list[CompiledRule]]]


def compile_share(share: Bucket) -> Applying:
    """The share's rules tested in one generated function: the expressions of :func:`compile_condition`
    one after another, so a decision makes one call instead of one per rule. It raises where a rule's
    test raises (evaluate.py then tests rule by rule, recording which one failed). A share with a
    condition that is not plain tests its rules' own functions in turn."""
    denies, allows = share.denies, share.allows
    try:
        lines = ["def applying(f):", "    d = []"]
        lines += [f"    if {_expression(r.rule.condition)}:\n        d.append(D{i})" for i, r in enumerate(denies)]
        lines += ["    if d:", "        return d, []", "    a = []"]
        lines += [f"    if {_expression(r.rule.condition)}:\n        a.append(A{i})" for i, r in enumerate(allows)]
        lines.append("    return d, a")
    except _NotPlain:
        def applying(f: Facts) -> tuple[list[CompiledRule], list[CompiledRule]]:
            found = [r for r in denies if r.test(f)]
            return found, [] if found else [r for r in allows if r.test(f)]
        return applying
    namespace: dict[str, object] = {"__builtins__": {}}
    namespace.update({f"D{i}": r for i, r in enumerate(denies)})
    namespace.update({f"A{i}": r for i, r in enumerate(allows)})
    exec("\n".join(lines), namespace)  # noqa: S102 - constants written with repr, see compile_condition
    made: Applying = namespace["applying"]  # type: ignore[assignment]
    return made


Wanted = Callable[[Facts], tuple[tuple[str, str], ...]]


def compile_wanted(allows: Rules) -> Wanted | None:
    """``evaluate._wanted`` over ``allows`` as one generated function, for a default deny: each allow's
    parts tested in the same order with the same expressions (so it raises where that does), a part
    that does not hold ending the allow unless obtainable facts could make it hold. An allow none of
    whose parts wants a fact and none can raise adds nothing and is left out. None when a condition is
    not plain (evaluate then walks the parts itself)."""
    lines = ["def wanted(f):", "    found = []"]
    namespace: dict[str, object] = {"__builtins__": {}, "tuple": tuple}
    try:
        for i, allow in enumerate(allows):
            if not any(allow.wants) and all(_cannot_raise(cond) for cond, _ in allow.parts):
                continue
            lines += ["    while True:", "        w = []"]
            for j, ((cond, _), got) in enumerate(zip(allow.parts, allow.wants)):
                lines.append(f"        if not {_expression(cond)}:")
                if got:
                    namespace[f"W{i}_{j}"] = got
                    lines.append(f"            w += W{i}_{j}")
                else:
                    lines.append("            break")
            namespace[f"R{i}"] = allow.rule.id
            lines += ["        for x in w:", f"            found.append((x, R{i}))", "        break"]
    except _NotPlain:
        return None
    lines.append("    return tuple(found)")
    exec("\n".join(lines), namespace)  # noqa: S102 - constants written with repr, see compile_condition
    made: Wanted = namespace["wanted"]  # type: ignore[assignment]
    return made


@dataclass(frozen=True, slots=True)
class CompiledBundle:
    bundle: Bundle
    ref: BundleRef
    index: dict[tuple[str, str], Bucket]
    #: the attestation kinds the vocabulary knows, each with its fact (``attestation.<kind>``), by kind: the
    #: decision log names the kinds made (service/decider.py) without scanning every fact
    attestations: tuple[tuple[str, str], ...]
    #: verdicts already given, by outcome (evaluate.py): a verdict is immutable and a function of which
    #: rules applied and what is missing, so equal outcomes share one (bounded; never part of equality)
    verdicts: dict[tuple[object, ...], Verdict] = field(default_factory=dict, repr=False, compare=False)
    #: per share of a bucket (by id: every share lives as long as the bundle), its rules as one function,
    #: made when a decision first needs it (most shares never decide anything)
    applying: dict[int, Applying] = field(default_factory=dict, repr=False, compare=False)
    #: per share, likewise, the obtainable facts a default deny names (compile_wanted; None: not plain)
    wanted: dict[int, Wanted | None] = field(default_factory=dict, repr=False, compare=False)

    def bucket(self, action: str, category: str) -> Bucket:
        return self.index.get((action, category), EMPTY_BUCKET)


def compile_bundle(bundle: Bundle, revision: str) -> CompiledBundle:
    """Index every rule under each (action, category) it covers; keeps file order within a bucket."""
    actions = bundle.vocabulary.actions
    cat_spec = bundle.vocabulary.fact("resource.category")
    categories = cat_spec.values if cat_spec else (NONE,)
    vocab = bundle.vocabulary
    compiled = []
    for r in bundle.rules:
        parts = conjuncts(r.condition)
        compiled.append(CompiledRule(
            r, compile_condition(r.condition),
            tuple(Obligation(o, bundle.obligations[o]) for o in r.obligations),
            tuple((c, compile_condition(c)) for c in parts),
            tuple(obtainable(c, vocab) for c in parts),
            tuple(f for c in parts if isinstance(c, Not) for f in obtainable(c.item, vocab)),
        ))
    index: dict[tuple[str, str], Bucket] = {}
    memo: Memo = {}
    for action in actions:
        for category in categories:
            fits = [c for c in compiled
                    if (c.rule.actions is None or action in c.rule.actions)
                    and (c.rule.categories is None or category in c.rule.categories)]
            if fits:
                denies = tuple(c for c in fits if c.rule.effect == "deny")
                allows = tuple(c for c in fits if c.rule.effect == "allow")
                index[(action, category)] = _bucket(denies, allows, bundle.vocabulary, memo)
    attestations = tuple(sorted((name[len("attestation."):], name) for name, spec in vocab.facts.items()
                                if name.startswith("attestation.") and spec.kind == "bool"))
    return CompiledBundle(bundle, BundleRef(bundle.name, bundle.version, revision), index, attestations)
