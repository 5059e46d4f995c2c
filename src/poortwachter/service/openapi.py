"""The OpenAPI document: route metadata written by hand, component schemas from service.schemas.

Routes read their bodies with orjson (see body.py), so FastAPI cannot infer request schemas; each
route declares its body and answers here by component name, and ``build_openapi`` puts every model
of service.schemas into the components, drops FastAPI's 422 (this API answers 400, as AuthZEN
requires) and adds the bearer security schemes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from .problems import PROBLEM_JSON
from .schemas import MODELS

_REF = "#/components/schemas/{model}"

_PROBLEM_TEXT = {
    400: "Invalid request: the problem document names the field, what was expected and what was sent.",
    401: "No bearer token where one is required.",
    403: "Wrong bearer token (or the admin API is disabled: no admin token configured).",
    404: "No such bundle.",
    409: "The admin request cannot be carried out (nothing to roll back to, unknown version).",
    413: "Body larger than max_body_bytes, or more items than the batch/filter limit.",
    415: "Content-Type is not application/json (native API; AuthZEN paths answer 400).",
    503: "Not ready (no valid bundle active) or the decision log cannot accept the decision (fail closed).",
}


def body(model: str, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a JSON request body of component ``model``."""
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}}}


def answers(ok: str | list[str] | None, *problems: int, ok_text: str = "The answer.",
            media: str = "application/json") -> dict[int | str, dict[str, Any]]:
    """``responses`` for a route: 200 with component ``ok`` (anyOf a list), plus problem documents."""
    out: dict[int | str, dict[str, Any]] = {}
    if ok is not None:
        if isinstance(ok, list):
            schema: dict[str, Any] = {"anyOf": [{"$ref": _REF.format(model=m)} for m in ok]}
        else:
            schema = {"$ref": _REF.format(model=ok)}
        out[200] = {"description": ok_text, "content": {media: {"schema": schema}}}
    for status in problems:
        out[status] = {"description": _PROBLEM_TEXT[status],
                       "content": {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model="Problem")}}}}
    return out


DECISION_SECURITY: dict[str, Any] = {"security": [{}, {"decisionToken": []}]}
ADMIN_SECURITY: dict[str, Any] = {"security": [{"adminToken": []}]}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                         tags=app.openapi_tags)
    _, defs = models_json_schema([(m, "validation") for m in MODELS], ref_template=_REF)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).update(defs.get("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    components["securitySchemes"] = {
        "adminToken": {"type": "http", "scheme": "bearer",
                       "description": "Admin token (admin_token, admin_token_file or admin_token_sha256)."},
        "decisionToken": {"type": "http", "scheme": "bearer",
                          "description": "Only when decision_token is configured."},
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    app.openapi_schema = schema
    return schema
