"""The published JSON Schema of rule files is current and accepts every shipped youth-care rule file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from poortwachter.core.policy.schema import rule_file_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "schema" / "rules.schema.json"
FAST_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # as the product reads bundles (core/policy/source.py)


def _youth_care(folder: Path) -> bool:
    manifest = yaml.load((folder / "bundle.yaml").read_text(encoding="utf-8"), Loader=FAST_YAML)
    return manifest.get("vocabulary", "youth-care") == "youth-care"


RULE_FILES = sorted(p for p in (ROOT / "policies").glob("*/rules/*.yaml") if _youth_care(p.parent.parent))


def test_checked_in_schema_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == rule_file_schema(), \
        "run: poortwachter schema > docs/schema/rules.schema.json"


@pytest.fixture(scope="module")
def rule_file_validator() -> jsonschema.protocols.Validator:
    """What ``jsonschema.validate`` builds on every call, built once: the schema checked against its
    metaschema (four fifths of the time when done per file), then a validator for it."""
    schema = rule_file_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@pytest.mark.parametrize("path", RULE_FILES, ids=[f"{p.parent.parent.name}/{p.name}" for p in RULE_FILES])
def test_rule_file_matches_schema(path: Path, rule_file_validator: jsonschema.protocols.Validator) -> None:
    rule_file_validator.validate(yaml.load(path.read_text(encoding="utf-8"), Loader=FAST_YAML))
