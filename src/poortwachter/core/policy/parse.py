"""Bundle data → validated :class:`Bundle`, reporting every problem with file, line and rule id.

The validator never stops at the first error: an author fixing a bundle wants the whole list
(sorted by file and line). Warnings (rules that can never apply, shadowed rules, unused
obligations) do not block a build.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from ..custom import parse_vocabulary
from ..errors import BundleInvalid, Diagnostic, Span
from ..facts import DEFAULT_CONSENT_BY_AGE, ConsentBand
from ..verdict import Text
from ..vocabulary import (
    ATTESTATIONS,
    BASE_OBLIGATIONS,
    CONSENT_PARTIES,
    DOSSIER_TYPES,
    OBJECTION_PARTIES,
    YEAR_FACTS,
    YOUTH_CARE,
    Vocabulary,
)
from .model import ANY_ACTION, TRUE, All, AnyOf, Bundle, Condition, Leaf, Not, Rule, conjuncts
from .source import line_of

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
MAX_CONDITION_DEPTH = 16  # deeper trees are unreadable for reviewers and hint at generated policy
LAW_AGE_THRESHOLDS = (12, 16, 18)

MANIFEST_KEYS = {
    "name", "version", "effective_from", "description", "vocabulary", "age_thresholds",
    "year_thresholds", "consent_by_age", "obligations", "extends", "remove", "dossier_types",
}
RULE_KEYS = {
    "id", "effect", "actions", "subject", "resource", "recipient", "when", "obligations", "reason",
    "basis", "source", "replaces", "description",
}
BAND_KEYS = {"below", "from", "wilsonbekwaam"}  # a consent_by_age band
WILSONBEKWAAM_PARTIES = ("gezag",)  # whose consent counts for a wilsonbekwame client (not the client himself)
COMPARISONS = ("gte", "gt", "lte", "lt")
SHORTHANDS = ("holds", "age_below", "age_at_least", "has_consent", "has_objection", "has_attestation")

RuleData = tuple[str, Mapping[str, Any]]  # (file, rule mapping)
BaseResolver = Callable[[str], Bundle]


class _Report:
    """Collects diagnostics for one bundle."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, file: str, line: int, message: str, rule: str | None = None) -> None:
        self.items.append(Diagnostic("error", Span(file, line), message, rule))

    def warn(self, file: str, line: int, message: str, rule: str | None = None) -> None:
        self.items.append(Diagnostic("warning", Span(file, line), message, rule))

    @property
    def failed(self) -> bool:
        return any(d.severity == "error" for d in self.items)


# ---------------------------------------------------------------------------------------------
# bundle.yaml


def _int_list(report: _Report, file: str, meta: Mapping[str, Any], key: str, default: tuple[int, ...],
              least: int = 1) -> tuple[int, ...]:
    """``least`` 0 for year thresholds: ``>= 0`` tells a known date from an unknown one (-1)."""
    value = meta.get(key)
    if value is None:
        return default
    if not (isinstance(value, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= least
                                            for x in value)):
        report.error(file, line_of(meta), f"'{key}' must be a list of integers of at least {least}")
        return default
    return tuple(sorted(set(value)))


def _consent_by_age(report: _Report, file: str, meta: Mapping[str, Any]) -> tuple[ConsentBand, ...]:
    value = meta.get("consent_by_age")
    if value is None:
        return DEFAULT_CONSENT_BY_AGE
    bands: list[ConsentBand] = []
    ok = isinstance(value, list) and value
    lower: int | None = 0  # None once a band without 'below' was seen: nothing may follow it
    for item in value if isinstance(value, list) else []:
        below = item.get("below") if isinstance(item, Mapping) else None
        parties = item.get("from") if isinstance(item, Mapping) else None
        wb = item.get("wilsonbekwaam", []) if isinstance(item, Mapping) else None
        if not (isinstance(item, Mapping) and set(item) <= BAND_KEYS
                and isinstance(parties, list) and parties and set(parties) <= {"self", "gezag"} and lower is not None
                and (below is None or (type(below) is int and below > lower))  # ages rise band by band
                and isinstance(wb, list) and set(wb) <= set(WILSONBEKWAAM_PARTIES)):
            ok = False
            break
        lower = below
        bands.append(ConsentBand(below, tuple(parties), tuple(wb)))
    if not ok or bands[-1].below is not None:
        report.error(file, line_of(value) or line_of(meta),
                     "'consent_by_age' must be a list of {below: N, from: [self|gezag, …], wilsonbekwaam: [gezag]} "
                     "with N rising, the last without 'below' ('wilsonbekwaam' is optional)")
        return DEFAULT_CONSENT_BY_AGE
    return tuple(bands)


def _text(report: _Report, file: str, data: Any, what: str, rule: str | None = None) -> Text | None:
    if not (isinstance(data, Mapping) and all(isinstance(v := data.get(k), str) and v.strip() for k in ("nl", "en"))):
        report.error(file, line_of(data), f"{what} needs non-empty 'nl' and 'en' texts", rule)
        return None
    return Text(data["nl"].strip(), data["en"].strip())


class _Manifest:
    """The parsed bundle.yaml: everything but the rules."""

    def __init__(self, report: _Report, file: str, meta: Any) -> None:
        self.file = file
        if not isinstance(meta, Mapping):
            report.error(file, 1, "bundle.yaml must be a mapping with name, version, effective_from, …")
            meta = {}
        line = line_of(meta)
        for key in sorted(set(meta) - MANIFEST_KEYS):
            report.error(file, line, f"unknown key {key!r} (expected one of {', '.join(sorted(MANIFEST_KEYS))})")
        self.name = meta.get("name")
        if not (isinstance(self.name, str) and NAME.match(self.name)):
            report.error(file, line, "'name' must be lower-case letters, digits and dashes, e.g. nl-jgz")
            self.name = "invalid"
        self.version = str(meta.get("version", ""))
        if not SEMVER.match(self.version):
            report.error(file, line, f"'version' must be semver MAJOR.MINOR.PATCH, got {self.version!r}")
        eff = meta.get("effective_from")
        if isinstance(eff, str):
            try:
                eff = date.fromisoformat(eff)
            except ValueError:
                pass
        if not isinstance(eff, date):
            report.error(file, line, "'effective_from' must be a date (YYYY-MM-DD)")
            eff = date.min
        self.effective_from: date = eff
        self.description = str(meta.get("description", "")).strip()
        vocab_data = meta.get("vocabulary", "youth-care")
        self.vocabulary: Vocabulary = YOUTH_CARE
        if isinstance(vocab_data, Mapping):
            custom, problems = parse_vocabulary(vocab_data, Span(file, line_of(vocab_data)))
            report.items.extend(problems)
            self.vocabulary = custom or YOUTH_CARE
        elif vocab_data != "youth-care":
            report.error(file, line, "'vocabulary' must be 'youth-care' or a custom vocabulary mapping")
        ages = _int_list(report, file, meta, "age_thresholds", LAW_AGE_THRESHOLDS)
        years = _int_list(report, file, meta, "year_thresholds", (), least=0)
        self.thresholds: dict[str, tuple[int, ...]] = dict(self.vocabulary.thresholds)
        if self.vocabulary.youth_care:
            self.thresholds.update({"client.age": ages, **dict.fromkeys(YEAR_FACTS, years)})
        self.consent_by_age = _consent_by_age(report, file, meta)
        self.obligations: dict[str, Text] = {k: Text(*v) for k, v in BASE_OBLIGATIONS.items()}
        self.declared_obligations: dict[str, int] = {}
        extra = meta.get("obligations") or {}
        if not isinstance(extra, Mapping):
            report.error(file, line, "'obligations' must map obligation ids to {nl, en} texts")
            extra = {}
        for oid, texts in extra.items():
            if not (isinstance(oid, str) and RULE_ID.match(oid)):
                report.error(file, line_of(extra), f"obligation id {oid!r} must be lower-case, e.g. explain_refusal")
                continue
            parsed = _text(report, file, texts, f"obligation {oid}")
            if parsed:
                self.obligations[oid] = parsed
                self.declared_obligations[oid] = line_of(texts) or line_of(extra)
        self.extends = meta.get("extends")
        if self.extends is not None and not (isinstance(self.extends, str) and NAME.match(self.extends)):
            report.error(file, line, "'extends' must name a bundle, e.g. nl-jeugdhulp")
            self.extends = None
        remove = meta.get("remove") or []
        if not (isinstance(remove, list) and all(isinstance(x, str) for x in remove)):
            report.error(file, line, "'remove' must be a list of rule ids")
            remove = []
        if remove and self.extends is None:
            report.error(file, line, "'remove' only makes sense in an overlay (with 'extends')")
        self.remove: tuple[str, ...] = tuple(remove)
        self.dossier_types = self._dossier_types(report, file, meta)
        self.given = frozenset(meta)

    def _dossier_types(self, report: _Report, file: str, meta: Mapping[str, Any]) -> tuple[str, ...]:
        """The dossier types this bundle's law governs: the service never lets it decide another's.
        A youth-care bundle must say (an overlay may inherit its base's); a fixture vocabulary may not."""
        raw = meta.get("dossier_types")
        line = line_of(raw) or line_of(meta)
        if raw is None:
            if self.vocabulary.youth_care and self.extends is None:
                report.error(file, line, "'dossier_types' is required: the dossier types this bundle governs, "
                             f"from {', '.join(DOSSIER_TYPES)}")
            return ()
        if not (isinstance(raw, list) and raw and all(isinstance(x, str) and x for x in raw)):
            report.error(file, line, "'dossier_types' must be a non-empty list of dossier types, e.g. [jgz]")
            return ()
        if self.vocabulary.youth_care:
            for wrong in [x for x in raw if x not in DOSSIER_TYPES]:
                report.error(file, line, f"unknown dossier type {wrong!r} (one of {', '.join(DOSSIER_TYPES)})")
        return tuple(dict.fromkeys(raw))

    def inherit(self, base: Bundle) -> None:
        """An overlay keeps what its base declares unless it declares its own: obligations (added to
        its own), age and year thresholds and consent_by_age. Otherwise replacing one rule would
        silently change who must consent for every base rule."""
        for oid, text in base.obligations.items():
            self.obligations.setdefault(oid, text)
        if self.vocabulary.youth_care and base.vocabulary.youth_care:
            if "age_thresholds" not in self.given:
                self.thresholds["client.age"] = base.thresholds["client.age"]
            if "year_thresholds" not in self.given:
                for fact in YEAR_FACTS:
                    self.thresholds[fact] = base.thresholds[fact]
        if "consent_by_age" not in self.given:
            self.consent_by_age = base.consent_by_age
        if "dossier_types" not in self.given:
            self.dossier_types = base.dossier_types


# ---------------------------------------------------------------------------------------------
# conditions


class _Conditions:
    """Parses condition trees against a vocabulary and the bundle's thresholds."""

    def __init__(self, report: _Report, manifest: _Manifest, file: str, rule: str) -> None:
        self.r, self.m, self.file, self.rule = report, manifest, file, rule

    def error(self, data: Any, message: str) -> None:
        self.r.error(self.file, line_of(data), message, self.rule)

    def leaf(self, data: Any, fact: Any, op: str, value: Any) -> Condition | None:
        spec = self.m.vocabulary.fact(fact) if isinstance(fact, str) else None
        if spec is None:
            self.error(data, f"unknown fact {fact!r}" + _suggest(fact, self.m.vocabulary))
            return None
        values = value if op == "in" else [value]
        if op == "in" and not (isinstance(value, list) and value):
            self.error(data, f"'in' needs a non-empty list of values for {fact}")
            return None
        for item in values:
            if not self._fits(data, spec.name, spec.kind, spec.values, op, item):
                return None
        return Leaf(spec.name, op, tuple(value) if op == "in" else value)  # type: ignore[arg-type]

    def _fits(self, data: Any, fact: str, kind: str, domain: tuple[str, ...], op: str, value: Any) -> bool:
        if op in COMPARISONS:
            allowed = self.m.thresholds.get(fact, ())
            if kind != "int":
                self.error(data, f"'{op}' compares numbers; {fact} is {kind}")
                return False
            if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
                self.error(data, f"{fact} may only be compared with the declared thresholds {list(allowed)}, got {value!r}"
                           + (" (add it to age_thresholds/year_thresholds in bundle.yaml)" if isinstance(value, int) else ""))
                return False
            return True
        if kind == "bool" and not isinstance(value, bool):
            self.error(data, f"{fact} is true or false, got {value!r}")
            return False
        if kind == "int":
            self.error(data, f"{fact} is a number: compare it with gte/gt/lte/lt")
            return False
        if kind == "enum" and value not in domain:
            self.error(data, f"{value!r} is not a value of {fact} (one of {', '.join(domain)})")
            return False
        if kind == "str" and not isinstance(value, str):
            self.error(data, f"{fact} is a string, got {value!r}")
            return False
        return True

    def parse(self, data: Any, depth: int = 0) -> Condition | None:
        if depth > MAX_CONDITION_DEPTH:
            self.error(data, f"condition nested deeper than {MAX_CONDITION_DEPTH}")
            return None
        if not isinstance(data, Mapping) or not data:
            self.error(data, f"a condition must be a mapping such as {{holds: subject.gezag}}, got {data!r}")
            return None
        keys = set(data)
        if keys & {"all", "any"} and len(keys) == 1:
            key = next(iter(keys))
            items = data[key]
            if not isinstance(items, list) or not items:
                self.error(data, f"'{key}' needs a non-empty list of conditions")
                return None
            parsed = [self.parse(i, depth + 1) for i in items]
            if any(p is None for p in parsed):
                return None
            return (All if key == "all" else AnyOf)(tuple(p for p in parsed if p is not None))
        if keys == {"not"}:
            inner = self.parse(data["not"], depth + 1)
            return Not(inner) if inner is not None else None
        if "fact" in keys:
            ops = keys - {"fact"}
            if len(ops) != 1 or not ops <= {"equals", "in", *COMPARISONS}:
                self.error(data, "a fact condition needs exactly one of equals, in, gte, gt, lte, lt")
                return None
            op = ops.pop()
            return self.leaf(data, data["fact"], op, data[op])
        if len(keys) == 1 and (key := next(iter(keys))) in SHORTHANDS:
            return self.shorthand(data, key, data[key])
        self.error(data, f"unknown condition {sorted(keys)} (expected all, any, not, fact, {', '.join(SHORTHANDS)})")
        return None

    def shorthand(self, data: Any, key: str, value: Any) -> Condition | None:
        if key == "holds":
            return self.leaf(data, value, "equals", True)
        if key in ("age_below", "age_at_least"):
            return self.leaf(data, "client.age", "lt" if key == "age_below" else "gte", value)
        sets = {"has_consent": ("consent", CONSENT_PARTIES), "has_objection": ("objection", OBJECTION_PARTIES),
                "has_attestation": ("attestation", ATTESTATIONS)}
        prefix, allowed = sets[key]
        if value not in allowed:
            self.error(data, f"{key}: {value!r} is not one of {', '.join(allowed)}")
            return None
        return self.leaf(data, f"{prefix}.{value}", "equals", True)

    def matcher(self, data: Any, prefix: str) -> list[Condition] | None:
        if not isinstance(data, Mapping):
            self.error(data, f"'{prefix}' must map fact names to a value or a list of values")
            return None
        found: list[Condition] = []
        # key order is not kept by an artifact (canonical JSON sorts keys): sort, so a rule reads
        # the same from its folder and from its artifact (conditions, explanations, `missing` order)
        for key, value in sorted(data.items(), key=lambda kv: str(kv[0])):
            if prefix == "resource" and key == "category":
                continue
            op = "in" if isinstance(value, list) else "equals"
            leaf = self.leaf(data, f"{prefix}.{key}", op, value)
            if leaf is None:
                return None
            found.append(leaf)
        return found


def _suggest(fact: Any, vocab: Vocabulary) -> str:
    if not isinstance(fact, str):
        return ""
    tail = fact.rsplit(".", 1)[-1]
    near = [f for f in vocab.facts if f.rsplit(".", 1)[-1] == tail]
    return f" (did you mean {', '.join(near)}?)" if near else ""


# ---------------------------------------------------------------------------------------------
# rules


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if isinstance(value, list) and value and all(isinstance(x, str) and x.strip() for x in value):
        return tuple(x.strip() for x in value)
    return None


def _rule(report: _Report, m: _Manifest, file: str, data: Any) -> Rule | None:
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
    conds = _Conditions(report, m, file, rid)
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
    reason = _text(report, file, data.get("reason"), "'reason'", rid)
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


def _merge(report: _Report, m: _Manifest, file: str, base: Bundle, own: list[Rule]) -> list[Rule]:
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


def _check_ids(report: _Report, rules: list[Rule]) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id].span
            report.error(rule.span.file, rule.span.line, f"duplicate rule id (first defined at {first})", rule.id)
        seen[rule.id] = rule


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


def _warnings(report: _Report, m: _Manifest, rules: list[Rule]) -> None:
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
    report = _Report()
    m = _Manifest(report, manifest_file, manifest)
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
        rules.extend(r for r in (_rule(report, m, file, item) for item in data) if r is not None)
    _check_ids(report, rules)
    if m.extends is not None:
        if base is not None:
            if base.vocabulary is not m.vocabulary and base.vocabulary.name != m.vocabulary.name:
                report.error(manifest_file, 1, "an overlay must use its base bundle's vocabulary")
            rules = _merge(report, m, manifest_file, base, rules)
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
