"""CompiledBundle × facts → Verdict. Pure, deterministic and total.

Combining: default deny; any applicable deny rule overrides every allow; the verdict names every
rule of the deciding effect that applied, in bundle order. A rule that fails to evaluate (it cannot
on facts the vocabulary produced, but the evaluator does not trust that) is recorded and turns the
verdict into deny: Poortwachter never allows what it could not fully evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..verdict import DEFAULT_DENY, EVALUATION_ERROR, Missing, Obligation, Reason, Text, Verdict
from ..vocabulary import NONE, Vocabulary
from .compile import CompiledBundle, CompiledRule
from .model import AnyOf, Condition, Leaf, Not, describe
from .values import Facts, FactValue


def _reason(rule: CompiledRule) -> Reason:
    return rule.reason


def _obligations(rules: list[CompiledRule]) -> tuple[Obligation, ...]:
    seen: dict[str, Obligation] = {}
    for rule in rules:
        for ob in rule.obligations:
            seen.setdefault(ob.id, ob)
    return tuple(seen.values())


def _obtainable(cond: Condition, vocab: Vocabulary, want: bool = True) -> list[str]:
    """Obtainable facts that, once true (or false, under a not), would make ``cond`` hold."""
    if isinstance(cond, Leaf):
        spec = vocab.fact(cond.fact)
        if spec is not None and spec.obtainable and cond.op == "equals" and cond.value is want:
            return [cond.fact]
        return []
    if isinstance(cond, Not):
        return _obtainable(cond.item, vocab, not want)
    if isinstance(cond, AnyOf) and want:
        return [f for item in cond.items for f in _obtainable(item, vocab, want)]
    return []


def _missing(bundle: CompiledBundle, facts: Facts, allows: tuple[CompiledRule, ...],
             applied_denies: list[CompiledRule]) -> tuple[Missing, ...]:
    vocab = bundle.bundle.vocabulary
    found: dict[str, Missing] = {}

    def add(fact: str, rule: str) -> None:
        spec = vocab.facts[fact]
        found.setdefault(fact, Missing(fact, Text(spec.text_nl, spec.text_en), rule))

    if applied_denies:
        for deny in applied_denies:
            for cond, _ in deny.parts:
                if isinstance(cond, Not):
                    for fact in _obtainable(cond.item, vocab):
                        add(fact, deny.rule.id)
        return tuple(found.values())
    for allow in allows:
        wanted: list[str] = []
        for cond, test in allow.parts:
            if test(facts):
                continue
            got = _obtainable(cond, vocab)
            if not got:
                break
            wanted.extend(got)
        else:
            for fact in wanted:
                add(fact, allow.rule.id)
    return tuple(found.values())


def _applying(rules: tuple[CompiledRule, ...], facts: Facts, errors: list[str]) -> list[CompiledRule]:
    """The rules whose condition holds, in order; a rule that raises is recorded in ``errors``."""
    found = []
    for rule in rules:
        try:
            if rule.test(facts):
                found.append(rule)
        except Exception as exc:  # noqa: BLE001 - totality: record and deny, never raise
            errors.append(f"rule {rule.rule.id}: {type(exc).__name__}: {exc}")
    return found


def evaluate(bundle: CompiledBundle, facts: Facts) -> Verdict:
    """The verdict of ``bundle`` on ``facts``."""
    action = facts.get("action.name")
    category = facts.get("resource.category", NONE)
    candidate_denies, candidate_allows = bundle.bucket(str(action), str(category)).candidates(facts)
    errors: list[str] = []
    denies = _applying(candidate_denies, facts, errors)
    allows = [] if denies else _applying(candidate_allows, facts, errors)
    if errors:
        reason = Reason("evaluation-error", "deny", EVALUATION_ERROR, (), ())
        return Verdict(False, (reason, *map(_reason, denies)), (), (), bundle.ref, tuple(errors))
    if denies:
        return Verdict(False, tuple(map(_reason, denies)), _obligations(denies),
                       _missing(bundle, facts, candidate_allows, denies), bundle.ref)
    if allows:
        return Verdict(True, tuple(map(_reason, allows)), _obligations(allows), (), bundle.ref)
    return Verdict(False, (DEFAULT_DENY,), (), _missing(bundle, facts, candidate_allows, []), bundle.ref)


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """Why one rule did or did not apply: ``considered`` is False when it does not cover the
    request's action or category at all; ``failed`` lists its conditions that did not hold."""

    rule: str
    effect: str
    considered: bool
    applied: bool
    failed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    verdict: Verdict
    facts: dict[str, FactValue]
    rules: tuple[RuleTrace, ...]


def explain(bundle: CompiledBundle, facts: Facts) -> Explanation:
    """The verdict with every rule's trace: the slow path for /v1/decisions and `poortwachter explain`."""
    verdict = evaluate(bundle, facts)
    bucket = bundle.bucket(str(facts.get("action.name")), str(facts.get("resource.category", NONE)))
    in_bucket = {c.rule.id: c for c in (*bucket.denies, *bucket.allows)}
    traces = []
    for rule in bundle.bundle.rules:
        compiled = in_bucket.get(rule.id)
        if compiled is None:
            traces.append(RuleTrace(rule.id, rule.effect, False, False, ()))
            continue
        failed = tuple(describe(c) for c, test in compiled.parts if not _safe(test, facts))
        traces.append(RuleTrace(rule.id, rule.effect, True, not failed, failed))
    return Explanation(verdict, dict(facts), tuple(traces))


def _safe(test: object, facts: Facts) -> bool:
    try:
        return bool(test(facts))  # type: ignore[operator]
    except Exception:  # noqa: BLE001
        return False
