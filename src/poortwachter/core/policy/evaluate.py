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
from .compile import EMPTY_BUCKET, CompiledBundle, CompiledRule, compile_share, compile_wanted
from .model import describe
from .values import Facts, FactValue

MAX_REMEMBERED = 4096  # distinct outcomes a bundle remembers a verdict for (then it starts afresh)


def _reason(rule: CompiledRule) -> Reason:
    return rule.reason


def _obligations(rules: list[CompiledRule]) -> tuple[Obligation, ...]:
    seen: dict[str, Obligation] = {}
    for rule in rules:
        for ob in rule.obligations:
            seen.setdefault(ob.id, ob)
    return tuple(seen.values())


def _wanted(facts: Facts, allows: tuple[CompiledRule, ...]) -> tuple[tuple[str, str], ...]:
    """(fact, rule) for each obtainable fact that would let an allow rule apply: every part of the
    rule that does not hold must be one an obtainable fact can make hold."""
    found: list[tuple[str, str]] = []
    for allow in allows:
        wanted: list[str] = []
        for (_, test), got in zip(allow.parts, allow.wants):
            if test(facts):
                continue
            if not got:
                break
            wanted.extend(got)
        else:
            rule = allow.rule.id
            found.extend((fact, rule) for fact in wanted)
    return tuple(found)


def _missing(vocab: Vocabulary, pairs: tuple[tuple[str, str], ...]) -> tuple[Missing, ...]:
    """The Missing of each fact, named with the first rule that wants it."""
    found: dict[str, Missing] = {}
    for fact, rule in pairs:
        if fact not in found:
            spec = vocab.facts[fact]
            found[fact] = Missing(fact, Text(spec.text_nl, spec.text_en), rule)
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
    # bundle.bucket(str(action), str(category)).share(facts), without the two calls
    share = bundle.index.get((action if type(action) is str else str(action),
                              category if type(category) is str else str(category)), EMPTY_BUCKET)
    while share.split is not None:
        value = facts.get(share.split_fact)  # type: ignore[arg-type]
        deeper = share.split.get(value) if type(value) is str else None
        if deeper is None:
            break
        share = deeper
    candidate_allows = share.allows
    applying = bundle.applying.get(id(share))
    if applying is None:
        applying = bundle.applying[id(share)] = compile_share(share)
    errors: list[str] = []
    try:
        denies, allows = applying(facts)
    except Exception:  # noqa: BLE001 - a rule failed: test rule by rule to record which (totality)
        denies = _applying(share.denies, facts, errors)
        allows = [] if denies else _applying(candidate_allows, facts, errors)
    if errors:
        reason = Reason("evaluation-error", "deny", EVALUATION_ERROR, (), ())
        return Verdict(False, (reason, *map(_reason, denies)), (), (), bundle.ref, tuple(errors))
    if denies:
        key: tuple[object, ...] = ("deny", id(denies[0])) if len(denies) == 1 else ("deny", *map(id, denies))
    elif allows:
        key = ("allow", id(allows[0])) if len(allows) == 1 else ("allow", *map(id, allows))
    else:
        ident = id(share)
        if ident in bundle.wanted:
            made = bundle.wanted[ident]
        else:
            made = bundle.wanted[ident] = compile_wanted(candidate_allows)
        wanted = _wanted(facts, candidate_allows) if made is None else made(facts)
        key = ("default", *wanted)
    known = bundle.verdicts.get(key)
    if known is not None:
        return known
    vocab = bundle.bundle.vocabulary
    if denies:
        lifted = tuple((fact, deny.rule.id) for deny in denies for fact in deny.lifted_by)
        verdict = Verdict(False, tuple(map(_reason, denies)), _obligations(denies), _missing(vocab, lifted),
                          bundle.ref)
    elif allows:
        verdict = Verdict(True, tuple(map(_reason, allows)), _obligations(allows), (), bundle.ref)
    else:
        verdict = Verdict(False, (DEFAULT_DENY,), (), _missing(vocab, wanted), bundle.ref)
    if len(bundle.verdicts) >= MAX_REMEMBERED:
        bundle.verdicts.clear()
    bundle.verdicts[key] = verdict
    return verdict


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
