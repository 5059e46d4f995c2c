"""Bundle data → validated :class:`Bundle`, reporting every problem with file, line and rule id.

The validator never stops at the first error: an author fixing a bundle wants the whole list
(sorted by file and line). Warnings (rules that can never apply, shadowed rules, unused
obligations) do not block a build.

Split by concern: :mod:`.manifest` (bundle.yaml), :mod:`.conditions`, :mod:`.rules`; here the
assembly: the base of an overlay, the overlay merge and the warnings over the whole bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import BundleInvalid, Diagnostic
from .manifest import Manifest
from .model import Bundle, Leaf, Rule, conjuncts
from .report import Report
from .rules import check_ids, parse_rule
from .source import line_of

BaseResolver = Callable[[str], Bundle]


def merge_overlay(report: Report, m: Manifest, file: str, base: Bundle, own: list[Rule]) -> list[Rule]:
    """Overlay semantics: remove, replace by id (explicitly), add."""
    base_ids = {r.id for r in base.rules}
    for rid in m.remove:
        if rid not in base_ids:
            report.error(file, 0, f"'remove' names {rid!r}, which is not a rule of {base.key}")
    replaced: dict[str, Rule] = {}
    added: list[Rule] = []
    for rule in own:
        if rule.replaces is not None:
            if rule.replaces not in base_ids:
                report.error(rule.span.file, rule.span.line, f"'replaces' names {rule.replaces!r}, not a rule of {base.key}", rule.id)
            elif rule.replaces in replaced or rule.replaces in m.remove:
                report.error(rule.span.file, rule.span.line, f"{rule.replaces!r} is already replaced or removed", rule.id)
            else:
                replaced[rule.replaces] = rule
            if rule.id in base_ids and rule.id != rule.replaces:
                report.error(rule.span.file, rule.span.line, f"id {rule.id!r} is also a rule of {base.key}", rule.id)
        elif rule.id in base_ids:
            report.error(rule.span.file, rule.span.line,
                         f"{rule.id!r} is a rule of {base.key}: say 'replaces: {rule.id}' to replace it", rule.id)
        else:
            added.append(rule)
    merged = [replaced.get(r.id, r) for r in base.rules if r.id not in m.remove]
    return merged + added


def _never_applies(rule: Rule) -> str | None:
    """A contradiction among a rule's top-level equality conditions, if there is one."""
    wanted: dict[str, set[Any]] = {}
    for part in conjuncts(rule.condition):
        if isinstance(part, Leaf) and part.op in ("equals", "in"):
            values = set(part.value) if isinstance(part.value, tuple) else {part.value}
            wanted[part.fact] = wanted.get(part.fact, values) & values
            if not wanted[part.fact]:
                return f"{part.fact} can never satisfy all of this rule's conditions"
    return None


def _covers(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    return wide is None or (narrow is not None and narrow <= wide)


def _warnings(report: Report, m: Manifest, rules: list[Rule]) -> None:
    used = {o for r in rules for o in r.obligations}
    for oid, line in m.declared_obligations.items():
        if oid not in used:
            report.warn(m.file, line, f"obligation {oid!r} is declared but no rule uses it")
    denies = [r for r in rules if r.effect == "deny"]
    for rule in rules:
        why = _never_applies(rule)
        if why:
            report.warn(rule.span.file, rule.span.line, f"rule can never apply: {why}", rule.id)
            continue
        if rule.effect != "allow":
            continue
        mine = set(conjuncts(rule.condition))
        for deny in denies:
            if (_covers(deny.actions, rule.actions) and _covers(deny.categories, rule.categories)
                    and set(conjuncts(deny.condition)) <= mine):
                report.warn(rule.span.file, rule.span.line,
                            f"rule is fully shadowed by deny rule {deny.id} ({deny.span}): it can never decide", rule.id)
                break


def parse_bundle(
    manifest_file: str,
    manifest: Any,
    rule_files: list[tuple[str, Any]],
    resolve_base: BaseResolver | None = None,
) -> tuple[Bundle, list[Diagnostic]]:
    """Validate and assemble a bundle; raises BundleInvalid with every error found.

    ``rule_files`` holds (file name, loaded YAML) pairs; each file is a list of rules.
    ``resolve_base`` returns the base bundle an overlay extends.
    """
    report = Report()
    m = Manifest(report, manifest_file, manifest)
    base: Bundle | None = None
    if m.extends is not None:  # before the overlay's own rules: they may use what the base declares
        if resolve_base is None:
            report.error(manifest_file, 1, f"overlay of {m.extends!r} but no base bundle is available")
        else:
            try:
                base = resolve_base(m.extends)
            except (KeyError, BundleInvalid) as exc:
                report.error(manifest_file, 1, f"base bundle {m.extends!r} cannot be loaded: {exc}")
        if base is not None:
            m.inherit(base)
    rules: list[Rule] = []
    for file, data in rule_files:
        if data is None:
            continue
        if not isinstance(data, list):
            report.error(file, line_of(data) or 1, "a rule file must be a YAML list of rules")
            continue
        rules.extend(r for r in (parse_rule(report, m, file, item) for item in data) if r is not None)
    check_ids(report, rules)
    if m.extends is not None:
        if base is not None:
            if base.vocabulary is not m.vocabulary and base.vocabulary.name != m.vocabulary.name:
                report.error(manifest_file, 1, "an overlay must use its base bundle's vocabulary")
            rules = merge_overlay(report, m, manifest_file, base, rules)
    elif any(r.replaces for r in rules):
        bad = next(r for r in rules if r.replaces)
        report.error(bad.span.file, bad.span.line, "'replaces' only makes sense in an overlay (with 'extends')", bad.id)
    if not report.failed:
        _warnings(report, m, rules)
    if report.failed:
        raise BundleInvalid(report.items)
    bundle = Bundle(
        name=m.name, version=m.version, effective_from=m.effective_from, description=m.description,
        vocabulary=m.vocabulary, thresholds=m.thresholds, consent_by_age=m.consent_by_age,
        obligations=m.obligations, rules=tuple(rules), extends=m.extends,
        base_version=base.version if base else None, removed=m.remove, dossier_types=m.dossier_types,
    )
    return bundle, sorted(report.items, key=Diagnostic.sort_key)
