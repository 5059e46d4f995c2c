"""The OpenAPI document for integrators: stable operation ids, a valid 3.0 export, and /docs without internet."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import support
from jsonschema.exceptions import UnknownType
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from poortwachter.service.openapi import ASSETS
from poortwachter.service.openapi30 import openapi_30, schema_30

from .conftest import Harness

OPERATIONS = {
    ("post", "/access/v1/evaluation"): "evaluate",
    ("post", "/access/v1/evaluations"): "evaluateBatch",
    ("post", "/access/v1/search/subject"): "searchSubjects",
    ("post", "/access/v1/search/resource"): "searchResources",
    ("post", "/access/v1/search/action"): "searchActions",
    ("get", "/.well-known/authzen-configuration"): "getMetadata",
    ("post", "/v1/decisions"): "explain",
    ("post", "/v1/filter"): "filter",
    ("get", "/v1/bundles"): "listBundles",
    ("post", "/v1/bundles/reload"): "reloadBundles",
    ("get", "/v1/bundles/{name}"): "getBundle",
    ("post", "/v1/bundles/{name}/activate"): "activateBundle",
    ("post", "/v1/bundles/{name}/rollback"): "rollbackBundle",
    ("post", "/v1/bundles/{name}/shadow"): "startShadow",
    ("get", "/v1/bundles/{name}/shadow"): "getShadowReport",
    ("delete", "/v1/bundles/{name}/shadow"): "stopShadow",
    ("get", "/healthz"): "getHealth",
    ("get", "/readyz"): "getReadiness",
    ("get", "/metrics"): "getMetrics",
}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(method, path): op.get("operationId", "") for path, item in doc["paths"].items()
            for method, op in item.items() if method in ("get", "post", "put", "delete", "patch")}


def test_every_operation_has_its_stable_readable_id(harness: Harness) -> None:
    """Generated clients call these names (client.evaluate(…)); renaming one breaks every integrator."""
    doc = harness.client.get("/openapi.json").json()
    assert _operations(doc) == OPERATIONS, (
        "each route names its operation_id= (a camelCase verb: evaluate, getBundle) and is listed here")
    ids = list(OPERATIONS.values())
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids)


def test_the_31_document_is_valid(harness: Harness) -> None:
    doc = harness.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(doc).iter_errors()) == []


def _keywords(node: Any, found: set[str]) -> set[str]:
    """Schema keywords used anywhere (property names excluded)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    _keywords(sub, found)
            else:
                found.add(key)
                _keywords(value, found)
    elif isinstance(node, list):
        for value in node:
            _keywords(value, found)
    return found


def test_the_30_export_is_valid_and_keeps_every_operation_and_schema(harness: Harness) -> None:
    doc31 = harness.client.get("/openapi.json").json()
    answer = harness.client.get("/openapi-3.0.json")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    doc = answer.json()
    assert doc["openapi"] == "3.0.3"
    assert list(OpenAPIV30SpecValidator(doc).iter_errors()) == []
    assert _operations(doc) == OPERATIONS
    assert set(doc["components"]["schemas"]) == set(doc31["components"]["schemas"])
    assert set(doc["components"]["securitySchemes"]) == {"adminToken", "decisionToken"}
    used = _keywords(doc["components"]["schemas"], set())
    assert not used & {"const", "examples", "$defs", "prefixItems"}, used
    schemas = doc["components"]["schemas"]
    # Optional fields: nullable instead of anyOf-with-null; a const a one-value enum; examples one example
    assert schemas["Missing"]["properties"]["from"] == {
        "default": None, "description": "consent: whose consent (self, gezag, all_gezag, valid, about).",
        "title": "From", "type": "string", "nullable": True}
    assert schemas["Obligation"]["properties"]["type"]["enum"] == ["custom"]
    relation = schemas["SubjectProperties"]["properties"]["relation"]
    assert relation["nullable"] is True and "ouder" in relation["enum"] and relation["example"] == "ouder"
    assert schemas["EvaluationRequest"]["example"]["action"] == {"name": "read"}
    # a $ref with a description beside it is wrapped (3.0 ignores siblings of $ref)
    assert schemas["ShadowChange"]["properties"]["active"] == {
        "allOf": [{"$ref": "#/components/schemas/ShadowVerdict"}], "description": "What was answered."}
    assert harness.client.get("/openapi-3.0.json").json() == doc  # computed once, the same every time


def test_the_30_validator_refuses_what_the_conversion_removes(harness: Harness) -> None:
    """The validation above can fail: the 3.1 document merely relabelled 3.0 does not validate."""
    doc = copy.deepcopy(harness.client.get("/openapi.json").json())
    doc["openapi"] = "3.0.3"
    try:
        errors: list[Any] = list(OpenAPIV30SpecValidator(doc).iter_errors())
    except UnknownType as exc:  # {"type": "null"}: a type 3.0 does not have
        errors = [exc]
    assert errors


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": ["string", "null"]}, {"type": "string", "nullable": True}),
    ({"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]},
     {"anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": True}),
    ({"anyOf": [{"$ref": "#/x"}, {"type": "null"}], "default": None}, {"allOf": [{"$ref": "#/x"}], "default": None,
                                                                        "nullable": True}),
    ({"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 0, "exclusiveMinimum": True}),
    ({"enum": ["a", None]}, {"enum": ["a"], "nullable": True}),
    ({"type": "object", "properties": {"const": {"const": 1}, "examples": {"examples": []}}},
     {"type": "object", "properties": {"const": {"enum": [1]}, "examples": {}}}),
    ({"type": "string", "contentMediaType": "text/plain", "$schema": "x"}, {"type": "string"}),
], ids=["type-list", "anyof-null", "ref-null", "exclusive", "enum-null", "property-names-kept", "dropped"])
def test_schema_conversion(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert schema_30(schema) == expected


def test_conversion_leaves_the_31_document_alone(harness: Harness) -> None:
    doc = harness.client.get("/openapi.json").json()
    before = copy.deepcopy(doc)
    openapi_30(doc)
    assert doc == before


# ------------------------------------------------------------------------------------------------- /docs


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_load_only_from_the_service(harness: Harness) -> None:
    page = harness.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    links = _Links()
    links.feed(html)
    assert sorted(links.urls) == ["/docs/assets/favicon-32x32.png", "/docs/assets/swagger-ui-bundle.js",
                                  "/docs/assets/swagger-ui.css"]
    assert "url: '/openapi.json'" in html and '"validatorUrl": null' in html  # no badge from validator.swagger.io
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self' 'unsafe-inline'" in policy
    for url in links.urls:
        asset = harness.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    js = harness.client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript") and b"SwaggerUIBundle" in js.content
    assert harness.client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert b"Apache License" in harness.client.get("/docs/assets/LICENSE").content


@pytest.mark.parametrize("name", ["openapi.py", "..%2Fopenapi.py", "swagger-ui.css.map", "index.html"])
def test_docs_assets_serve_only_the_listed_files(harness: Harness, name: str) -> None:
    answer = harness.client.get(f"/docs/assets/{name}")
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"


def test_every_listed_asset_ships_with_the_package() -> None:
    from poortwachter.service.openapi import SWAGGER_UI

    assert all((SWAGGER_UI / name).is_file() for name in ASSETS)
    assert "Apache" in (SWAGGER_UI / "LICENSE").read_text()


def test_redoc_from_a_cdn_is_gone(harness: Harness) -> None:
    assert harness.client.get("/redoc").status_code == 404


def test_docs_render_in_a_browser_without_internet(tmp_path: Path, bundle_dir: Path) -> None:
    """Headless Chromium loads /docs from a real server (this machine has no route to a CDN) and Swagger UI
    draws every operation, its id shown."""
    chromium = support.require_tool("chromium", "chromium-browser", why="render /docs in a browser",
                                    install="apt-get install -y chromium")
    with support.serve(tmp_path, bundle_dir) as server, tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
             "--virtual-time-budget=20000", "--dump-dom", f"{server.base}/docs"],
            capture_output=True, text=True, timeout=120).stdout
    for operation_id in ("evaluate", "evaluateBatch", "searchResources", "explain", "getReadiness"):
        assert f">{operation_id}<" in dom, operation_id
    assert "Poortwachter" in dom and "swagger-ui" in dom


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_the_cli_writes_the_document_without_a_server(tmp_path: Path, harness: Harness, version: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from poortwachter.cli import main

    out = tmp_path / "api" / f"openapi-{version}.json"
    assert main(["openapi", "--version", version, "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    served = harness.client.get("/openapi-3.0.json" if version == "3.0" else "/openapi.json").json()
    assert doc == served
    validator = OpenAPIV30SpecValidator if version == "3.0" else OpenAPIV31SpecValidator
    assert list(validator(doc).iter_errors()) == []
    assert "DEV signing key" not in capsys.readouterr().err
