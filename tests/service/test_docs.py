"""The service documentation stays complete: every setting, every endpoint, every vocabulary value."""

from __future__ import annotations

import re

import pytest

from poortwachter.core import vocabulary as v
from poortwachter.service.settings import Settings

from .conftest import ROOT, Harness

SERVICE = (ROOT / "docs" / "service.md").read_text()
API = (ROOT / "docs" / "api.md").read_text()


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_settings_table(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", SERVICE, re.MULTILINE), f"docs/service.md does not document the setting {name}"


def test_every_operation_is_in_the_endpoint_table(harness: Harness) -> None:
    paths = harness.client.get("/openapi.json").json()["paths"]
    for path in paths:
        short = path.rsplit("/", 1)[-1] if path.startswith("/access/v1/search/") else path
        assert short in SERVICE, f"docs/service.md does not list {path}"


@pytest.mark.parametrize("values", [
    v.SUBJECT_TYPES, v.RELATIONS, v.DISCIPLINES, v.ORGANISATION_KINDS, v.ACTIONS, v.RESOURCE_TYPES,
    v.DOSSIER_TYPES, v.CATEGORIES, v.AUTHOR_KINDS, v.MEASURES, v.PURPOSES, v.AUTHN_LEVELS, v.ATTESTATIONS,
    tuple(v.BASE_OBLIGATIONS),
], ids=lambda vs: vs[0])
def test_every_vocabulary_value_is_in_the_api_guide(values: tuple[str, ...]) -> None:
    missing = [x for x in values if f"`{x}`" not in API]
    assert not missing, f"docs/api.md does not mention {missing}"


def test_openapi_documents_the_closed_sets(harness: Harness) -> None:
    schemas = harness.client.get("/openapi.json").json()["components"]["schemas"]
    props = schemas["SubjectProperties"]["properties"]
    relation = next(s for s in props["relation"]["anyOf"] if "enum" in s)
    assert tuple(relation["enum"]) == v.RELATIONS
    assert props["relation"]["description"] and props["relation"]["examples"]
    category = next(s for s in schemas["ResourceProperties"]["properties"]["category"]["anyOf"] if "enum" in s)
    assert tuple(category["enum"]) == v.CATEGORIES
    assert tuple(schemas["Action"]["properties"]["name"]["enum"]) == v.ACTIONS
