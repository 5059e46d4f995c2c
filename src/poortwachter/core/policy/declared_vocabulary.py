"""The ``vocabulary`` section of bundle.yaml: a bundle that speaks about other types, actions and
properties than the youth-care contract declares its facts as data, each with one extractor
(``from`` a path, ``member`` of a list, the ``same`` as another path; see vocabulary.Extractor).
core/declared_facts.py derives the facts of a request from such a declaration."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from ..errors import Diagnostic, Span
from ..vocabulary import NONE, Extractor, ExtractorKind, FactKind, FactSpec, Vocabulary

_FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_ROOTS = ("subject", "action", "resource", "context")
_KINDS = ("enum", "bool", "int", "str")


def _path(text: Any) -> tuple[str, ...] | None:
    if not isinstance(text, str):
        return None
    parts = tuple(text.split("."))
    return parts if parts[0] in _ROOTS and all(parts) else None


def parse_vocabulary(data: Mapping[str, Any], span: Span) -> tuple[Vocabulary | None, list[Diagnostic]]:
    """A custom vocabulary from bundle.yaml's ``vocabulary`` mapping."""
    errors: list[Diagnostic] = []

    def err(msg: str) -> None:
        errors.append(Diagnostic("error", span, f"vocabulary: {msg}"))

    name = data.get("name")
    actions = data.get("actions")
    facts_data = data.get("facts")
    for key in sorted(set(data) - {"name", "actions", "facts"}):
        err(f"unknown key {key!r} (expected name, actions, facts)")
    if not isinstance(name, str) or not name:
        err("'name' must be a non-empty string")
    if not (isinstance(actions, list) and actions and all(isinstance(a, str) for a in actions)):
        err("'actions' must be a non-empty list of action names")
        actions = []
    if not isinstance(facts_data, Mapping):
        err("'facts' must map fact names to {type, from | member | same}")
        facts_data = {}
    specs: dict[str, FactSpec] = {"action.name": FactSpec("action.name", "enum", tuple(actions))}
    extractors: list[Extractor] = [Extractor("action.name", "from", (("action", "name"),), True)]
    thresholds: list[tuple[str, tuple[int, ...]]] = []
    for fact, spec in facts_data.items():
        if not isinstance(fact, str) or not _FACT_NAME.match(fact) or fact == "action.name":
            err(f"fact name {fact!r} must be dotted lower-case, e.g. subject.role")
            continue
        if not isinstance(spec, Mapping) or spec.get("type") not in _KINDS:
            err(f"fact {fact}: 'type' must be one of {', '.join(_KINDS)}")
            continue
        ways = [k for k in ("from", "member", "same") if k in spec]
        unknown = set(spec) - {"type", "values", "thresholds", "required", "from", "member", "same", "description"}
        if unknown:
            err(f"fact {fact}: unknown keys {sorted(unknown)}")
        if len(ways) != 1:
            err(f"fact {fact}: give exactly one of from, member, same")
            continue
        how = ways[0]
        raw = spec[how]
        paths = (_path(raw),) if how == "from" else tuple(_path(p) for p in raw) if isinstance(raw, list) else ()
        if not paths or any(p is None for p in paths) or (how != "from" and len(paths) != 2):
            err(f"fact {fact}: '{how}' needs {'a path' if how == 'from' else 'two paths'} "
                f"starting with one of {', '.join(_ROOTS)}")
            continue
        kind = spec["type"] if how == "from" else "bool"
        values: tuple[str, ...] = ()
        if kind == "enum":
            vals = spec.get("values")
            if not (isinstance(vals, list) and vals and all(isinstance(x, str) for x in vals)):
                err(f"fact {fact}: an enum needs 'values', a list of strings")
                continue
            values = (*vals, NONE)
        if kind == "int":
            ts = spec.get("thresholds", [])
            if not (isinstance(ts, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in ts)):
                err(f"fact {fact}: 'thresholds' must be a list of integers")
                continue
            thresholds.append((fact, tuple(sorted(ts))))
        specs[fact] = FactSpec(fact, cast(FactKind, kind), values, str(spec.get("description", fact)), str(spec.get("description", fact)))
        extractors.append(Extractor(fact, cast(ExtractorKind, how), tuple(p for p in paths if p), bool(spec.get("required", False))))
    if errors:
        return None, errors
    assert isinstance(name, str)
    return Vocabulary(name, specs, tuple(actions), False, tuple(extractors), tuple(thresholds)), []
