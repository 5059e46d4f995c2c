"""The OpenAPI document in version 3.0, for client generators that do not read 3.1 yet.

FastAPI writes OpenAPI 3.1 (JSON Schema 2020-12). Many generators an EPD vendor uses (openapi-generator's
older templates, NSwag, AutoRest) read only 3.0, whose schemas are a JSON Schema draft-4 subset. The
conversion is mechanical and keeps every constraint 3.0 can say: ``anyOf: [X, {type: null}]`` becomes
``X`` with ``nullable: true``; ``const`` a one-value ``enum``; a list of ``examples`` its first as
``example``; a ``$ref`` with siblings an ``allOf`` around it; numeric exclusive bounds the 3.0 form.
Keywords 3.0 does not know are dropped; nothing else changes (the test suite validates the result).
"""

from __future__ import annotations

from typing import Any

OPENAPI_30 = "3.0.3"

#: JSON Schema 2020-12 keywords with no OpenAPI 3.0 counterpart (they only annotate or are not used here)
_DROP = frozenset({"$schema", "$id", "$anchor", "$comment", "$defs", "contentMediaType", "contentEncoding",
                   "contentSchema", "unevaluatedProperties", "unevaluatedItems", "dependentRequired",
                   "dependentSchemas", "prefixItems", "if", "then", "else", "propertyNames", "patternProperties",
                   "minContains", "maxContains", "contains", "$dynamicRef", "$dynamicAnchor"})
_NULL = {"type": "null"}


def schema_30(schema: Any) -> Any:
    """One JSON Schema 2020-12 schema as an OpenAPI 3.0 Schema Object."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: schema_30(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = schema_30(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [schema_30(sub) for sub in value]
        elif key == "examples":
            if isinstance(value, list) and value:
                out["example"] = value[0]
        elif key == "const":
            out["enum"] = [value]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            nullable = nullable or len(types) < len(value)
            if len(types) == 1:
                out["type"] = types[0]
            elif types:
                out["anyOf"] = [*out.get("anyOf", []), *({"type": t} for t in types)]
        elif key == "type" and value == "null":
            nullable = True
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = value
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if not isinstance(options, list):
            continue
        kept = [o for o in options if o != _NULL and o != {"nullable": True}]
        if len(kept) < len(options):
            nullable = True
        if len(kept) == 1:
            del out[key]
            only = kept[0]
            if "$ref" in only:
                out["allOf"] = [only]
            else:
                for k, v in only.items():
                    out.setdefault(k, v)
        elif kept:
            out[key] = kept
        else:
            del out[key]
    if isinstance(out.get("enum"), list) and None in out["enum"]:
        out["enum"] = [v for v in out["enum"] if v is not None]
        nullable = True
    if "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}, *out.get("allOf", [])]
    if nullable:
        out["nullable"] = True
    return out


def _walk(node: Any) -> Any:
    """Everything outside component schemas: convert each ``schema`` found (parameters, bodies, answers)."""
    if isinstance(node, dict):
        return {k: schema_30(v) if k == "schema" else _walk(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v) for v in node]
    return node


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """The whole 3.1 document as 3.0.3 (a new document; the original is left as it is)."""
    out: dict[str, Any] = {k: _walk(v) for k, v in document.items()
                           if k not in ("openapi", "jsonSchemaDialect", "webhooks", "components")}
    out = {"openapi": OPENAPI_30, **out}
    info = dict(out.get("info", {}))
    info.pop("summary", None)
    if isinstance(info.get("license"), dict):
        info["license"] = {k: v for k, v in info["license"].items() if k != "identifier"}
    out["info"] = info
    components = document.get("components")
    if isinstance(components, dict):
        converted = {k: _walk(v) for k, v in components.items() if k not in ("schemas", "pathItems")}
        if "schemas" in components:
            converted["schemas"] = {name: schema_30(s) for name, s in components["schemas"].items()}
        out["components"] = converted
    return out
