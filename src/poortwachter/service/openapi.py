"""The OpenAPI document: route metadata written by hand, component schemas from service.schemas; and /docs.

Routes read their bodies with orjson (see body.py), so FastAPI cannot infer request schemas; each
route declares its body and answers here by component name, and ``build_openapi`` puts every model
of service.schemas into the components, drops FastAPI's 422 (this API answers 400, as AuthZEN
requires) and adds the bearer security schemes. Every route names its ``operation_id`` (``evaluate``,
``evaluateBatch``, …): generated clients get readable method names that stay stable.

``mount_docs`` serves the document in 3.0 too (``/openapi-3.0.json``, openapi30.py) and Swagger UI at
``/docs`` with its assets from the package (static/swagger-ui): a care network without internet
shows the page, and its Content-Security-Policy lets it load nothing from elsewhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .openapi30 import openapi_30
from .problems import PROBLEM_JSON, Problem
from .route_kit import json_response
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


SWAGGER_UI = Path(__file__).resolve().parent / "static" / "swagger-ui"
#: the files /docs/assets serves, and their media types (nothing else of the folder is reachable)
ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "favicon-32x32.png": "image/png", "LICENSE": "text/plain; charset=utf-8",
          "NOTICE": "text/plain; charset=utf-8", "VERSION": "text/plain; charset=utf-8",
          "swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8"}
DOCS_POLICY = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")


@cache
def _asset(name: str) -> bytes:
    return (SWAGGER_UI / name).read_bytes()


def mount_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI from the package), ``/docs/assets/{name}`` and ``/openapi-3.0.json``."""

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json", title=f"{app.title} – API",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png", oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None, "displayOperationId": True, "tryItOutEnabled": False})
        return HTMLResponse(page.body, headers={"Content-Security-Policy": DOCS_POLICY})

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        media = ASSETS.get(name)
        if media is None:
            raise Problem(404, "not-found", f"no documentation asset named {name!r}", field="name",
                          expected="one of " + ", ".join(ASSETS), got=repr(name))
        return Response(_asset(name), media_type=media, headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/openapi-3.0.json", include_in_schema=False)
    async def openapi_3_0(request: Request) -> Response:
        if not hasattr(app.state, "openapi_30"):
            app.state.openapi_30 = openapi_30(app.openapi())
        return json_response(app.state.openapi_30)
