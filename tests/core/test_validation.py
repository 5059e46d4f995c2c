"""The validator: every error with file, line and rule id, all of them in one run; warnings; safe YAML;
custom vocabularies."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.core.errors import BundleInvalid, Diagnostic
from poortwachter.core.policy.parse import parse_bundle
from poortwachter.core.policy.source import SourceFile, load_yaml

BROKEN = "tests/fixtures/policies/broken"


def broken_diagnostics(policy_fixtures, monkeypatch) -> list[Diagnostic]:
    monkeypatch.chdir(policy_fixtures.parent.parent.parent)  # paths are shown relative to the cwd
    with pytest.raises(BundleInvalid) as err:
        load_folder(policy_fixtures / "broken")
    return err.value.diagnostics


@pytest.mark.parametrize(("file", "line", "rule", "words"), [
    ("10-semantics.yaml", 11, "unknown-fact", "unknown fact 'subject.is_parent'"),
    ("10-semantics.yaml", 18, "bad-value", "'oom' is not a value of subject.relation"),
    ("10-semantics.yaml", 28, "undeclared-threshold", "declared thresholds [12, 16, 18], got 14"),
    ("10-semantics.yaml", 32, "unknown-obligation", "unknown obligation 'send_flowers'"),
    ("10-semantics.yaml", 39, "ok-rule", "duplicate rule id (first defined at"),
    ("20-syntax.yaml", 4, None, "invalid YAML"),
    ("30-duplicate-key.yaml", 4, None, "duplicate key 'effect'"),
])
def test_broken_bundle_names_file_line_and_rule(policy_fixtures, monkeypatch, file, line, rule, words):
    found = [d for d in broken_diagnostics(policy_fixtures, monkeypatch)
             if d.span.file == f"{BROKEN}/rules/{file}" and d.span.line == line]
    assert len(found) == 1, found
    d = found[0]
    assert (d.severity, d.rule) == ("error", rule)
    assert words in d.message
    assert str(d).startswith(f"{BROKEN}/rules/{file}:{line}" + (f" [rule {rule}]" if rule else "") + ": error: ")


def test_broken_bundle_reports_all_errors_at_once(policy_fixtures, monkeypatch):
    diagnostics = broken_diagnostics(policy_fixtures, monkeypatch)
    assert len(diagnostics) == 7
    assert all(d.severity == "error" for d in diagnostics)
    assert diagnostics == sorted(diagnostics, key=Diagnostic.sort_key)


def test_every_mistake_in_one_file_is_reported(r):
    rules = [
        r("a", effect="maybe"),
        r("b", actions=["inzage"]),
        {**r("c"), "colour": "red"},
        {**r("d"), "reason": {"nl": "alleen Nederlands"}},
        {**r("e"), "basis": []},
        {**r("f"), "source": None},
        r("g", when={"fact": "client.age", "equals": 12}),
        r("h", when={"fact": "subject.gezag", "equals": "yes"}),
        r("i", when={"fact": "subject.relation", "gte": 12}),
        r("j", when={"has_consent": "oma"}),
        r("k", when={"all": []}),
        r("l", when={"fact": "subject.gezag", "equals": True, "in": [True]}),
        r("m", when={"sometimes": True}),
        r("n", replaces="a"),
        {**r("o"), "id": "Not An Id"},
        r("p", resource={"category": ["groei", "sokken"]}),
        r("q", when={"fact": "subject.relation", "in": []}),
    ]
    with pytest.raises(BundleInvalid) as err:
        parse_bundle("bundle.yaml", {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"]},
                     [("rules/r.yaml", rules)])
    by_rule = {d.rule for d in err.value.diagnostics}
    assert by_rule >= set("abcdefghijklmnpq")
    messages = "\n".join(str(d) for d in err.value.diagnostics)
    for words in ("'effect' must be allow or deny", "unknown actions ['inzage']", "unknown key 'colour'",
                  "'reason' needs non-empty 'nl' and 'en'", "'basis' must list", "'source' must list",
                  "client.age is a number", "subject.gezag is true or false", "'gte' compares numbers",
                  "has_consent: 'oma' is not one of", "'all' needs a non-empty list",
                  "exactly one of equals, in", "unknown condition ['sometimes']", "'replaces' only makes sense",
                  "rule 'id' must be lower-case", "unknown categories ['sokken']", "'in' needs a non-empty list"):
        assert words in messages, words


@pytest.mark.parametrize(("meta", "words"), [
    ({"name": "Not_OK"}, "'name' must be lower-case"),
    ({"version": "1.0"}, "'version' must be semver"),
    ({"effective_from": "soon"}, "'effective_from' must be a date"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"vocabulary": "medical"}, "'vocabulary' must be 'youth-care'"),
    ({"age_thresholds": [12, "16"]}, "'age_thresholds' must be a list of integers of at least 1"),
    ({"consent_by_age": [{"below": 12, "from": ["gezag"]}]}, "the last without 'below'"),
    ({"consent_by_age": [{"from": ["oma"]}]}, "'consent_by_age' must be a list"),
    ({"obligations": {"Bad Id": {"nl": "x", "en": "y"}}}, "obligation id 'Bad Id'"),
    ({"obligations": {"ok": {"nl": "x"}}}, "obligation ok needs non-empty 'nl' and 'en'"),
    ({"remove": ["x"]}, "'remove' only makes sense in an overlay"),
    ({"extends": "elsewhere"}, "no base bundle is available"),
])
def test_manifest_errors(r, meta, words):
    manifest = {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], **meta}
    with pytest.raises(BundleInvalid) as err:
        parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", [r("a")])])
    assert any(words in d.message and d.span.file == "bundle.yaml" for d in err.value.diagnostics), err.value


def warnings_of(rules: list[dict[str, Any]], **meta: Any) -> list[Diagnostic]:
    manifest = {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], **meta}
    _, warnings = parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", rules)])
    return warnings


def test_warning_rule_that_never_applies(r):
    warnings = warnings_of([r("never", subject={"relation": "ouder"}, when={"fact": "subject.relation", "equals": "voogd"})])
    assert [(w.severity, w.rule) for w in warnings] == [("warning", "never")]
    assert "can never apply" in warnings[0].message and "subject.relation" in warnings[0].message


def test_warning_shadowed_allow(r):
    rules = [
        r("broad-deny", "deny", actions=["read", "copy"], subject={"relation": "ouder"}),
        r("narrow-allow", subject={"relation": "ouder", "gezag": True}),
        r("other-allow", subject={"relation": "voogd"}),
    ]
    warnings = warnings_of(rules)
    assert [(w.rule, w.severity) for w in warnings] == [("narrow-allow", "warning")]
    assert "fully shadowed by deny rule broad-deny" in warnings[0].message


def test_warning_unused_obligation(r):
    meta = {"obligations": {"explain_refusal": {"nl": "x", "en": "y"}, "used_one": {"nl": "x", "en": "y"}}}
    warnings = warnings_of([r("a", obligations=["used_one"])], **meta)
    assert len(warnings) == 1
    assert "obligation 'explain_refusal' is declared but no rule uses it" in warnings[0].message
    assert warnings[0].span.file == "bundle.yaml"


def test_warnings_do_not_block_a_valid_bundle(r):
    assert warnings_of([r("a")]) == []


def test_yaml_is_safe():
    data, problems = load_yaml(SourceFile("x.yaml", "- !!python/object/apply:os.system ['true']\n"))
    assert data is None and "invalid YAML" in problems[0].message
    data, problems = load_yaml(SourceFile("x.yaml", "a: 1\nb:\n  c: 2\n  c: 3\n"))
    assert data is None and problems[0].span.line == 4 and "duplicate key 'c'" in problems[0].message
    data, problems = load_yaml(SourceFile("x.yaml", "- id: a\n  x: 1\n- id: b\n"))
    assert problems == [] and [d.line for d in data] == [1, 3]


def test_custom_vocabulary_bundle(policy_fixtures):
    """policies/authzen-certification declares its own types, actions and properties."""
    from datetime import datetime

    from poortwachter.core.decide import derive_facts
    from poortwachter.core.errors import RequestError
    from poortwachter.core.policy.compile import compile_bundle
    from poortwachter.core.policy.evaluate import evaluate
    from poortwachter.core.request import parse_envelope

    root = policy_fixtures.parent.parent.parent
    bundle, warnings, _ = load_folder(root / "policies" / "authzen-certification")
    assert warnings == [] and not bundle.vocabulary.youth_care
    assert bundle.vocabulary.actions == ("read", "write", "delete")
    compiled = compile_bundle(bundle, "test")
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def decide(request: dict[str, Any]) -> Any:
        return evaluate(compiled, derive_facts(compiled, parse_envelope(request, now)))

    alice = {"type": "user", "id": "alice"}
    record = {"type": "record", "id": "record-2", "properties": {"status": "archived"}}
    assert decide({"subject": alice, "action": {"name": "read"}, "resource": record}).decision
    assert not decide({"subject": alice, "action": {"name": "write"}, "resource": record}).decision
    admin = {**alice, "properties": {"role": "admin"}}
    assert decide({"subject": admin, "action": {"name": "write"}, "resource": record}).deciding_rules == (
        "fixture.write-admin",)
    with pytest.raises(RequestError) as err:  # an action outside the declared vocabulary
        decide({"subject": alice, "action": {"name": "publish"}, "resource": record})
    assert err.value.path == "action.name"
    with pytest.raises(RequestError) as err:  # a declared bool property of the wrong type
        decide({"subject": alice, "action": {"name": "delete", "properties": {"soft": "yes"}}, "resource": record})
    assert err.value.path == "action.properties.soft"


def test_custom_vocabulary_errors(r):
    vocab = {"name": "v", "actions": ["go"], "facts": {
        "subject.level": {"type": "int", "from": "subject.properties.level", "thresholds": [3]},
        "subject.colour": {"type": "enum", "values": ["red", "blue"], "from": "subject.properties.colour"},
        "subject.owns": {"type": "bool", "member": ["resource.id", "subject.properties.owned"]},
    }}
    ok = [r("a", actions=["go"], subject={"colour": "red"}, when={"all": [{"fact": "subject.level", "gte": 3},
                                                                      {"holds": "subject.owns"}]})]
    manifest = {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], "vocabulary": vocab}
    parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", ok)])
    bad = [
        r("b", actions=["read"]),                                  # not a custom action
        r("c", actions=["go"], subject={"colour": "green"}),       # not a declared value
        r("d", actions=["go"], when={"fact": "subject.level", "gte": 4}),  # undeclared threshold
        r("e", actions=["go"], when={"has_consent": "self"}),      # youth-care fact, not in this vocabulary
        r("f", actions=["go"], resource={"category": "groei"}),    # no categories here
    ]
    with pytest.raises(BundleInvalid) as err:
        parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", bad)])
    assert {d.rule for d in err.value.diagnostics} == set("bcdef")
    broken_vocab = {**manifest, "vocabulary": {"name": "v", "actions": [], "facts": {
        "Level": {"type": "int", "from": "subject.properties.level"},
        "subject.x": {"type": "float", "from": "subject.x"},
        "subject.y": {"type": "str", "from": "nowhere.y"},
        "subject.z": {"type": "bool", "same": ["subject.id"]},
        "subject.e": {"type": "enum", "from": "subject.properties.e"},
    }}}
    with pytest.raises(BundleInvalid) as err:
        parse_bundle("bundle.yaml", broken_vocab, [("rules/r.yaml", ok)])
    text = str(err.value)
    for words in ("'actions' must be a non-empty list", "fact name 'Level'", "fact subject.x: 'type' must be",
                  "fact subject.y: 'from' needs a path", "fact subject.z: 'same' needs two paths",
                  "fact subject.e: an enum needs 'values'"):
        assert words in text, words


def test_rule_file_schema_accepts_the_fixture_rules(policy_fixtures):
    import jsonschema

    from poortwachter.core.policy.schema import rule_file_schema

    schema = rule_file_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for folder in ("mini", "mini-overlay"):
        for path in sorted((policy_fixtures / folder / "rules").glob("*.yaml")):
            data, problems = load_yaml(SourceFile(str(path), path.read_text()))
            assert not problems
            errors = list(validator.iter_errors(data))
            assert errors == [], (path, [e.message for e in errors])
    assert list(validator.iter_errors([{"id": "x", "effect": "perhaps"}]))


@pytest.mark.parametrize("bands", [
    [{"below": True, "from": ["gezag"]}, {"from": ["self"]}],                       # a bool is not an age
    [{"below": 16, "from": ["self"]}, {"below": 12, "from": ["gezag"]}, {"from": ["self"]}],  # 12 never reached
    [{"below": 12, "from": ["gezag"]}, {"below": 12, "from": ["self"]}, {"from": ["self"]}],
    [{"below": 0, "from": ["gezag"]}, {"from": ["self"]}],
    [{"from": ["self"]}, {"from": ["gezag"]}],
    [],
])
def test_consent_bands_must_rise(r, bands):
    manifest = {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], "consent_by_age": bands}
    with pytest.raises(BundleInvalid, match="consent_by_age"):
        parse_bundle("bundle.yaml", manifest, [("rules/r.yaml", [r("a")])])
