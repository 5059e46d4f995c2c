"""One rule mapping → :class:`Rule` (effect, actions, categories, condition, obligations, texts,
basis and source), and the check that rule ids are unique."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Span
from .conditions import Conditions
from .manifest import RULE_ID, Manifest, parse_text
from .model import ANY_ACTION, TRUE, All, Condition, Rule
from .report import Report
from .source import line_of

RULE_KEYS = {
    "id", "effect", "actions", "subject", "resource", "recipient", "when", "obligations", "reason",
    "basis", "source", "replaces", "description",
}


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(x, str) and x.strip() for x in value):
        return tuple(x.strip() for x in value)
    return None


def parse_rule(report: Report, m: Manifest, file: str, data: Any) -> Rule | None:
    if not isinstance(data, Mapping):
        report.error(file, line_of(data), f"a rule must be a mapping, got {type(data).__name__}")
        return None
    line = line_of(data)
    rid = data.get("id")
    if not (isinstance(rid, str) and RULE_ID.match(rid)):
        report.error(file, line, f"rule 'id' must be lower-case letters, digits, '.', '_', '-', got {rid!r}")
        return None
    errors_before = len(report.items)
    for key in sorted(set(data) - RULE_KEYS):
        report.error(file, line, f"unknown key {key!r} (expected one of {', '.join(sorted(RULE_KEYS))})", rid)
    effect = data.get("effect")
    if effect not in ("allow", "deny"):
        report.error(file, line, f"'effect' must be allow or deny, got {effect!r}", rid)
    actions_raw = data.get("actions")
    actions: frozenset[str] | None = None
    if actions_raw == [ANY_ACTION] or actions_raw == ANY_ACTION:
        actions = None
    elif isinstance(actions_raw, list) and actions_raw and all(isinstance(a, str) for a in actions_raw):
        wrong = [a for a in actions_raw if a not in m.vocabulary.actions]
        if wrong:
            report.error(file, line, f"unknown actions {wrong} (one of {', '.join(m.vocabulary.actions)} or any)", rid)
        actions = frozenset(actions_raw)
    else:
        report.error(file, line, "'actions' must be a non-empty list of actions, or [any]", rid)
    conds = Conditions(report, m, file, rid)
    parts: list[Condition] = []
    categories: frozenset[str] | None = None
    for block in ("subject", "resource", "recipient"):
        if block in data:
            found = conds.matcher(data[block], block)
            parts.extend(found or [])
    resource = data.get("resource")
    if isinstance(resource, Mapping) and "category" in resource:
        cats = resource["category"]
        cat_list = cats if isinstance(cats, list) else [cats]
        spec = m.vocabulary.fact("resource.category")
        if spec is None or not cat_list or any(c not in spec.values for c in cat_list):
            report.error(file, line_of(resource), f"resource.category: unknown categories "
                         f"{[c for c in cat_list if spec is None or c not in spec.values]}", rid)
        categories = frozenset(cat_list)
    if "when" in data:
        when = conds.parse(data["when"])
        if when is not None:
            parts.append(when)
    obligations = data.get("obligations") or []
    if not (isinstance(obligations, list) and all(isinstance(o, str) for o in obligations)):
        report.error(file, line, "'obligations' must be a list of obligation ids", rid)
        obligations = []
    for oid in obligations:
        if oid not in m.obligations:
            report.error(file, line, f"unknown obligation {oid!r}: declare it under 'obligations' in bundle.yaml", rid)
    reason = parse_text(report, file, data.get("reason"), "'reason'", rid)
    basis = _str_list(data.get("basis"))
    source = _str_list(data.get("source"))
    if basis is None:
        report.error(file, line, "'basis' must list the legal basis (article), e.g. [\"BW 7:456\"]", rid)
    if source is None:
        report.error(file, line, "'source' must list where the law says so, e.g. [\"toolkit-jgz-2026 §6.7.1\"]", rid)
    replaces = data.get("replaces")
    if replaces is not None and not isinstance(replaces, str):
        report.error(file, line, "'replaces' must be a rule id", rid)
    if len(report.items) > errors_before and report.failed:
        return None
    assert reason is not None and basis is not None and source is not None and effect in ("allow", "deny")
    condition: Condition = All(tuple(parts)) if len(parts) != 1 else parts[0]
    return Rule(
        id=rid, effect=effect, actions=actions, categories=categories, condition=condition if parts else TRUE,
        obligations=tuple(obligations), reason=reason, basis=basis, source=source, span=Span(file, line),
        replaces=replaces,
    )


def check_ids(report: Report, rules: list[Rule]) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id].span
            report.error(rule.span.file, rule.span.line, f"duplicate rule id (first defined at {first})", rule.id)
        seen[rule.id] = rule
