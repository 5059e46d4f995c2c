"""JSON Schema of rule files (youth-care vocabulary), published for editors.

Generated from the same closed sets the validator uses, so an editor's completion and the
compiler never disagree on names. `poortwachter schema > docs/schema/rules.schema.json`; a test
keeps the checked-in copy current and validates every shipped rule file against it.
"""

from __future__ import annotations

from typing import Any

from ..vocabulary import (
    ACTIONS,
    ATTESTATIONS,
    BASE_OBLIGATIONS,
    CATEGORIES,
    CONSENT_PARTIES,
    OBJECTION_PARTIES,
    YOUTH_CARE,
)
from .manifest import RULE_ID

SCHEMA_ID = "https://poortwachter.example/schema/rules.schema.json"


def _fact_value_schema(kind: str, values: tuple[str, ...]) -> dict[str, Any]:
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "int":
        return {"type": "integer"}
    if kind == "enum":
        return {"enum": list(values)}
    return {"type": "string"}


def _matcher(prefix: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for spec in YOUTH_CARE.facts.values():
        if spec.name.startswith(prefix + ".") and spec.kind != "int":
            one = _fact_value_schema(spec.kind, spec.values)
            key = spec.name[len(prefix) + 1:]
            props[key] = one if spec.kind == "bool" else {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]}
            props[key]["description"] = spec.text_en
    if prefix == "resource":
        props["category"] = {"anyOf": [{"enum": list(CATEGORIES)},
                                       {"type": "array", "items": {"enum": list(CATEGORIES)}, "minItems": 1}]}
    return {"type": "object", "additionalProperties": False, "properties": props}


def _condition() -> dict[str, Any]:
    facts = sorted(YOUTH_CARE.facts)
    ref = {"$ref": "#/$defs/condition"}
    return {
        "oneOf": [
            {"type": "object", "required": ["all"], "additionalProperties": False,
             "properties": {"all": {"type": "array", "items": ref, "minItems": 1}}},
            {"type": "object", "required": ["any"], "additionalProperties": False,
             "properties": {"any": {"type": "array", "items": ref, "minItems": 1}}},
            {"type": "object", "required": ["not"], "additionalProperties": False, "properties": {"not": ref}},
            {"type": "object", "required": ["fact"], "additionalProperties": False, "minProperties": 2,
             "maxProperties": 2,
             "properties": {"fact": {"enum": facts}, "equals": {}, "in": {"type": "array", "minItems": 1},
                            **{op: {"type": "integer"} for op in ("gte", "gt", "lte", "lt")}}},
            {"type": "object", "required": ["holds"], "additionalProperties": False,
             "properties": {"holds": {"enum": [f for f in facts if YOUTH_CARE.facts[f].kind == "bool"]}}},
            {"type": "object", "required": ["age_below"], "additionalProperties": False,
             "properties": {"age_below": {"type": "integer"}}},
            {"type": "object", "required": ["age_at_least"], "additionalProperties": False,
             "properties": {"age_at_least": {"type": "integer"}}},
            {"type": "object", "required": ["has_consent"], "additionalProperties": False,
             "properties": {"has_consent": {"enum": list(CONSENT_PARTIES)}}},
            {"type": "object", "required": ["has_objection"], "additionalProperties": False,
             "properties": {"has_objection": {"enum": list(OBJECTION_PARTIES)}}},
            {"type": "object", "required": ["has_attestation"], "additionalProperties": False,
             "properties": {"has_attestation": {"enum": list(ATTESTATIONS)}}},
        ]
    }


def rule_file_schema() -> dict[str, Any]:
    text = {"type": "object", "required": ["nl", "en"], "additionalProperties": False,
            "properties": {"nl": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}}}
    strings = {"anyOf": [{"type": "string", "minLength": 1},
                         {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]}
    rule = {
        "type": "object",
        "required": ["id", "effect", "actions", "reason", "basis", "source"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": RULE_ID.pattern},
            "description": {"type": "string"},
            "effect": {"enum": ["allow", "deny"]},
            "actions": {"type": "array", "minItems": 1, "items": {"enum": [*ACTIONS, "any"]}},
            "subject": _matcher("subject"),
            "resource": _matcher("resource"),
            "recipient": _matcher("recipient"),
            "when": {"$ref": "#/$defs/condition"},
            "obligations": {"type": "array", "items": {"type": "string", "pattern": RULE_ID.pattern,
                                                       "examples": sorted(BASE_OBLIGATIONS)}},
            "reason": text,
            "basis": strings,
            "source": strings,
            "replaces": {"type": "string", "pattern": RULE_ID.pattern},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Poortwachter rule file (youth-care vocabulary)",
        "description": "A list of rules; see docs/policy-language.md.",
        "type": "array",
        "items": {"$ref": "#/$defs/rule"},
        "$defs": {"rule": rule, "condition": _condition()},
    }
