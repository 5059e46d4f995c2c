"""Condition trees of rules (``when``, ``subject``/``resource``/``recipient`` matchers, shorthands) →
:class:`Condition`, checked against the bundle's vocabulary and declared thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..vocabulary import ATTESTATIONS, CONSENT_PARTIES, OBJECTION_PARTIES, Vocabulary
from .manifest import Manifest
from .model import All, AnyOf, Condition, Leaf, Not
from .report import Report
from .source import line_of

MAX_CONDITION_DEPTH = 16  # deeper trees are unreadable for reviewers and hint at generated policy
COMPARISONS = ("gte", "gt", "lte", "lt")
SHORTHANDS = ("holds", "age_below", "age_at_least", "has_consent", "has_objection", "has_attestation")


class Conditions:
    """Parses condition trees against a vocabulary and the bundle's thresholds."""

    def __init__(self, report: Report, manifest: Manifest, file: str, rule: str) -> None:
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
