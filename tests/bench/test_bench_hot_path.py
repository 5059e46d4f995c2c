"""The benchmark's hot-path changes decide exactly as the plain code they replace.

Two speed-ups of issue 8 keep a slow twin next to them: generated condition functions
(``compile_condition``) next to the closure tree (``_closure``), and the per-vocabulary extractor
plan (``derive_custom``) next to the generic ``_lookup``/``_typed`` walk; and one of issue 15: a
bucket share's rules tested in one generated function (``compile_share``) next to testing each
rule's own function. These tests compare each pair on random inputs, malformed ones included: same
answer, or the same error.
"""

from __future__ import annotations

import copy
import functools
import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import bundles_once  # tests/bundles_once.py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import generate
from poortwachter.artifacts.folder import load_folder
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.declared_facts import _lookup, _typed, derive_custom
from poortwachter.core.errors import RequestError, Span
from poortwachter.core.policy.compile import (
    Bucket,
    CompiledRule,
    _closure,
    compile_condition,
    compile_share,
    compile_wanted,
)
from poortwachter.core.policy.evaluate import _wanted
from poortwachter.core.policy.model import All, AnyOf, Condition, Leaf, Not, Rule, conjuncts
from poortwachter.core.request import parse_envelope
from poortwachter.core.verdict import Text

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=AMSTERDAM)
FACTS = ("a.x", "a.y", "b.z")
VALUES = st.one_of(st.booleans(), st.integers(-3, 20), st.sampled_from(["", "p", "q", "none"]))


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """The value, or the exception class and message: what the two twins must share."""
    try:
        return ("value", fn())
    except Exception as exc:  # noqa: BLE001 - comparing failures is the point
        return ("error", (type(exc).__name__, str(exc)))


leaves = st.builds(
    Leaf,
    st.sampled_from(FACTS),
    st.sampled_from(["equals", "in", "gte", "gt", "lte", "lt"]),
    VALUES,
).map(lambda leaf: Leaf(leaf.fact, leaf.op, (leaf.value, "p") if leaf.op == "in" else
                        leaf.value if leaf.op == "equals" or not isinstance(leaf.value, str) else 4))
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, max_size=4).map(lambda xs: All(tuple(xs))),
        st.lists(inner, max_size=4).map(lambda xs: AnyOf(tuple(xs))),
    ),
    max_leaves=12,
)
fact_sets = st.dictionaries(st.sampled_from(FACTS), VALUES)


@settings(max_examples=400, deadline=None)
@given(conditions, fact_sets)
def test_generated_condition_equals_closure_tree(cond: Condition, facts: dict[str, Any]) -> None:
    assert _outcome(lambda: compile_condition(cond)(facts)) == _outcome(lambda: _closure(cond)(facts))


def _compiled(cond: Condition, effect: str, n: int) -> CompiledRule:
    rule = Rule(f"{effect}-{n}", effect, None, None, cond, (), Text("r", "r"), (), (), Span("r.yaml"))  # type: ignore[arg-type]
    return CompiledRule(rule, compile_condition(cond), (), ())


@settings(max_examples=300, deadline=None)
@given(st.lists(conditions, max_size=4), st.lists(conditions, max_size=4), fact_sets)
def test_a_share_in_one_function_equals_its_rules_one_by_one(deny: list[Condition], allow: list[Condition],
                                                             facts: dict[str, Any]) -> None:
    denies = tuple(_compiled(c, "deny", i) for i, c in enumerate(deny))
    allows = tuple(_compiled(c, "allow", i) for i, c in enumerate(allow))

    def one_by_one() -> tuple[list[CompiledRule], list[CompiledRule]]:
        applied = [r for r in denies if r.test(facts)]
        return applied, [] if applied else [r for r in allows if r.test(facts)]

    expected = _outcome(one_by_one)
    got = _outcome(lambda: compile_share(Bucket(denies, allows))(facts))
    assert got == expected


@settings(max_examples=400, deadline=None)
@given(st.lists(conditions, max_size=4), fact_sets, st.data())
def test_generated_wanted_equals_walking_the_parts(allow: list[Condition], facts: dict[str, Any],
                                                   data: st.DataObject) -> None:
    """A default deny's wanted facts (compile_wanted) as evaluate._wanted finds them: same pairs, same order,
    or the same error."""
    allows = []
    for i, cond in enumerate(allow):
        parts = conjuncts(cond)
        wants = tuple(tuple(data.draw(st.lists(st.sampled_from(FACTS), max_size=2))) for _ in parts)
        rule = Rule(f"allow-{i}", "allow", None, None, cond, (), Text("r", "r"), (), (), Span("r.yaml"))  # type: ignore[arg-type]
        allows.append(CompiledRule(rule, compile_condition(cond), (), tuple((c, compile_condition(c)) for c in parts),
                                   wants))
    made = compile_wanted(tuple(allows))
    assert made is not None
    assert _outcome(lambda: made(facts)) == _outcome(lambda: _wanted(facts, tuple(allows)))


def test_generated_wanted_of_shipped_bundles_equals_walking_the_parts() -> None:
    """Every share of every shipped bundle, on the facts of corpus requests and of mutated ones."""
    from bench.core_bench import corpus
    from poortwachter.core.decide import derive_facts

    rng = random.Random(5)
    for compiled in _shipped_bundles():
        if not compiled.bundle.vocabulary.youth_care:
            continue
        facts = []
        for request in corpus(150, 4):
            try:
                facts.append(derive_facts(compiled, parse_envelope(request, NOW)))
            except RequestError:
                continue
        # each fact set with about one value in twenty replaced, made once for every share (drawing them per
        # share cost 8 s of the suite's critical path, for the same kind of input)
        mutated = [{k: (rng.choice([True, False, 0, 12, "none"]) if rng.random() < 0.05 else v) for k, v in f.items()}
                   for f in facts]
        # the allows of every share, each sequence once: four shares in five repeat another's rules (the same
        # objects in the same order: 529 sequences in 2527 shares), and compile_wanted and _wanted read nothing
        # else, so checking a repeat again on the same fact sets was the same comparison done twice
        sequences = {tuple(map(id, s.allows)): s.allows for b in compiled.index.values() for s in _shares(b)}
        for allows in sequences.values():
            made = compile_wanted(allows)
            assert made is not None
            for f in mutated:
                assert _outcome(lambda: made(f)) == _outcome(lambda: _wanted(f, allows))


def _shares(bucket: Bucket) -> list[Bucket]:
    return [bucket, *(s for sub in (bucket.split or {}).values() for s in _shares(sub))]


def _shipped_conditions() -> list[tuple[str, Condition]]:
    return [(f"{c.bundle.name}:{rule.id}", rule.condition) for c in _shipped_bundles() for rule in c.bundle.rules]


def test_generated_conditions_of_shipped_bundles_equal_closure_trees() -> None:
    """Every rule of every bundle, on facts where each fact it reads is missing, true, false or a value."""
    rng = random.Random(8)
    for name, cond in _shipped_conditions():
        names = sorted({leaf for leaf in _facts_of(cond)})
        generated, tree = compile_condition(cond), _closure(cond)
        for _ in range(60):
            facts = {n: rng.choice([True, False, 0, 11, 12, 16, 18, "none", "ouder", "read"])
                     for n in names if rng.random() < 0.9}
            assert _outcome(lambda: generated(facts)) == _outcome(lambda: tree(facts)), name


def _facts_of(cond: Condition) -> list[str]:
    if isinstance(cond, Leaf):
        return [cond.fact]
    if isinstance(cond, Not):
        return _facts_of(cond.item)
    return [f for item in cond.items for f in _facts_of(item)]


def _derive_generic(envelope: Any, vocab: Any) -> dict[str, Any]:
    """derive_custom as it was before the plan: one _lookup/_typed walk per extractor."""
    facts: dict[str, Any] = {}
    for ex in vocab.extractors:
        spec = vocab.facts[ex.fact]
        first = _lookup(envelope, ex.paths[0])
        where = ".".join(ex.paths[0])
        if ex.how == "from":
            if first is None and ex.required:
                raise RequestError(where, f"a value for {ex.fact}", missing=True)
            facts[ex.fact] = _typed(spec, first, where)
        elif ex.how == "same":
            facts[ex.fact] = first is not None and first == _lookup(envelope, ex.paths[1])
        else:
            container = _lookup(envelope, ex.paths[1])
            facts[ex.fact] = isinstance(container, list) and first in container
    return facts


JUNK = [None, True, False, 0, 7, 12, "", "x", "none", "read", "professional", "werkaantekening", [], ["p-1"], {}]
PATHS = [
    ("subject", "id"), ("subject", "properties", "relation"), ("subject", "properties", "gezag"),
    ("subject", "properties"), ("resource", "properties", "category"), ("resource", "properties", "client_age"),
    ("resource", "properties", "author"), ("resource", "properties", "author", "id"),
    ("resource", "properties", "shielded_from"), ("resource", "properties", "confidential_from_parents"),
    ("resource", "properties"), ("action", "name"), ("context",),
]


def _mutate(request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The request with one or two fields deleted or replaced by a value of another type."""
    out = copy.deepcopy(request)
    for _ in range(rng.randrange(1, 3)):
        path = rng.choice(PATHS)
        node = out
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if rng.random() < 0.3:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = rng.choice(JUNK)
    return out


@pytest.mark.parametrize("folder", ["bench-reference", "authzen-certification"])
def test_extractor_plan_equals_generic_walk(folder: str) -> None:
    bundle, _, _ = load_folder(ROOT / "policies" / folder)
    vocab = bundle.vocabulary
    rng = random.Random(12345)
    requests = generate(300, 3)
    for request in requests + [_mutate(r, rng) for r in requests for _ in range(3)]:
        envelope = _outcome(lambda: parse_envelope(request, NOW))
        if envelope[0] == "error":
            continue
        env = envelope[1]
        assert _outcome(lambda: derive_custom(env, vocab)) == _outcome(lambda: _derive_generic(env, vocab)), request


@functools.cache
def _shipped_bundles() -> tuple[Any, ...]:
    """Every shipped bundle that validates, compiled once for the tests that read them (never changed)."""
    found = []
    for folder in sorted((ROOT / "policies").iterdir()):
        if (folder / "bundle.yaml").is_file():
            try:
                bundle, _, _ = bundles_once.load(folder)
            except Exception:  # noqa: BLE001 - a bundle being written may not validate yet
                continue
            found.append(bundles_once.compiled(bundle, "test"))
    return tuple(found)


def _unsplit(compiled: Any) -> Any:
    """The same compiled bundle without the split index inside its buckets, with caches of its own: the
    bundle's are keyed by the id of a share, and the whole buckets made here die with the copy while the
    bundle (shared by the tests of this process) lives on; nor does a verdict the bundle cached stand in
    for one the copy reaches."""
    import dataclasses

    from poortwachter.core.policy.compile import Bucket

    index = {key: Bucket(b.denies, b.allows) for key, b in compiled.index.items()}
    return dataclasses.replace(compiled, index=index, verdicts={}, applying={}, wanted={})


def test_split_index_gives_the_same_verdicts_as_whole_buckets() -> None:
    """Every shipped bundle, on facts from the corpus and on facts with values swapped, removed or of
    another type: the split index changes nothing (verdict, reasons, missing, errors)."""
    from bench.run import law_requests
    from poortwachter.core.decide import derive_facts
    from poortwachter.core.policy.evaluate import evaluate

    rng = random.Random(5)
    requests = generate(400, 11)
    checked = 0
    for compiled in _shipped_bundles():
        plain = _unsplit(compiled)
        vocab = compiled.bundle.vocabulary
        corpus = requests if not vocab.youth_care else law_requests(requests, compiled.bundle.name)
        names = sorted(vocab.facts)
        for request in corpus:
            request = dict(request, context={**request["context"], "bundle": None})
            try:
                facts = derive_facts(compiled, parse_envelope(request, NOW))
            except RequestError:
                continue
            variants = [facts]
            for _ in range(3):
                changed = dict(facts)
                for name in rng.sample(names, 3):
                    spec = vocab.facts[name]
                    roll = rng.random()
                    if roll < 0.2:
                        changed.pop(name, None)
                    elif roll < 0.3:
                        changed[name] = rng.choice([7, True, "unknown-value"])
                    elif spec.values:
                        changed[name] = rng.choice(spec.values)
                    else:
                        changed[name] = rng.choice([True, False, 0, 12, 16, 18])
                variants.append(changed)
            for f in variants:
                assert _outcome(lambda: evaluate(compiled, f)) == _outcome(lambda: evaluate(plain, f))
                checked += 1
    assert checked > 1000
