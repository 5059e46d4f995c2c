"""Overlays: remove, replace (explicitly, by id), add; collisions and dangling references are errors."""

from __future__ import annotations

from typing import Any

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.core.errors import BundleInvalid
from poortwachter.core.policy.compile import compile_bundle
from poortwachter.core.policy.model import Bundle
from poortwachter.core.policy.parse import parse_bundle


@pytest.fixture(scope="module")
def base_bundle(mini) -> Bundle:
    return mini.bundle


def overlay(base: Bundle, rules: list[dict[str, Any]], **meta: Any) -> Bundle:
    manifest = {"name": "o", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], "extends": base.name, **meta}

    def resolve(name: str) -> Bundle:
        if name != base.name:
            raise KeyError(f"no bundle {name!r}")
        return base

    bundle, _ = parse_bundle("o/bundle.yaml", manifest, [("o/rules/r.yaml", rules)], resolve)
    return bundle


def overlay_errors(base: Bundle, rules: list[dict[str, Any]], **meta: Any) -> str:
    with pytest.raises(BundleInvalid) as err:
        overlay(base, rules, **meta)
    return str(err.value)


def test_mini_overlay_folder(policy_fixtures, verdict_of, request_for, mini):
    bundle, warnings, content = load_folder(policy_fixtures / "mini-overlay")
    assert warnings == []
    ids = [r.id for r in bundle.rules]
    base_ids = [r.id for r in mini.bundle.rules]
    # replaced in place, removed, added at the end
    assert ids == ["self-16-plus"] + base_ids[1:-1] + ["local-extra"]
    assert (bundle.extends, bundle.base_version, bundle.removed) == ("mini", "1.0.0", ("retention-old",))
    assert content["base"]["root"] == "mini"  # the content (and so an artifact) is self-contained
    compiled = compile_bundle(bundle, "test")
    child = {"subject_id": "c-1", "subject_props": {"relation": "self", "gezag": False}}
    assert verdict_of(request_for(**child, birthdate="2012-01-01"), mini).deciding_rules == ("self-12-plus",)
    assert verdict_of(request_for(**child, birthdate="2012-01-01"), compiled).deciding_rules == ("default-deny",)
    assert verdict_of(request_for(**child, birthdate="2010-01-01"), compiled).deciding_rules == ("self-16-plus",)
    assert verdict_of(request_for(**child, action="read_log"), compiled).deciding_rules == ("local-extra",)
    prof = {"subject_type": "professional", "subject_id": "prof-1", "action": "destroy",
            "resource_props": {"last_change": "2000-01-01"}}
    assert verdict_of(request_for(**prof), mini).decision
    assert not verdict_of(request_for(**prof), compiled).decision  # retention-old removed


def test_replace_keeps_the_base_position(base_bundle, r):
    bundle = overlay(base_bundle, [r("new-shielded", "deny", actions=["any"], replaces="shielded")])
    ids = [x.id for x in bundle.rules]
    assert ids.index("new-shielded") == [x.id for x in base_bundle.rules].index("shielded")
    assert "shielded" not in ids


def test_replace_with_the_same_id(base_bundle, r):
    bundle = overlay(base_bundle, [r("shielded", "deny", actions=["copy"], replaces="shielded")])
    replaced = next(x for x in bundle.rules if x.id == "shielded")
    assert replaced.actions == frozenset({"copy"}) and replaced.span.file == "o/rules/r.yaml"


def test_collision_without_replaces_is_an_error(base_bundle, r):
    text = overlay_errors(base_bundle, [r("shielded", "deny")])
    assert "'shielded' is a rule of mini@1.0.0: say 'replaces: shielded' to replace it" in text
    assert "o/rules/r.yaml" in text and "[rule shielded]" in text


def test_replaces_of_a_missing_rule_is_an_error(base_bundle, r):
    text = overlay_errors(base_bundle, [r("x", replaces="no-such-rule")])
    assert "'replaces' names 'no-such-rule', not a rule of mini@1.0.0" in text


def test_remove_of_a_missing_rule_is_an_error(base_bundle, r):
    text = overlay_errors(base_bundle, [r("x")], remove=["no-such-rule"])
    assert "'remove' names 'no-such-rule'" in text


def test_replacing_twice_or_a_removed_rule_is_an_error(base_bundle, r):
    text = overlay_errors(base_bundle, [r("x", replaces="shielded"), r("y", replaces="shielded")])
    assert "'shielded' is already replaced or removed" in text
    text = overlay_errors(base_bundle, [r("x", replaces="shielded")], remove=["shielded"])
    assert "'shielded' is already replaced or removed" in text


def test_replacement_may_not_take_another_base_rules_id(base_bundle, r):
    text = overlay_errors(base_bundle, [r("retention-old", replaces="shielded")])
    assert "id 'retention-old' is also a rule of mini@1.0.0" in text


def test_missing_base_is_an_error(r):
    with pytest.raises(BundleInvalid) as err:
        parse_bundle("bundle.yaml", {"name": "o", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"],
                                     "extends": "ghost"}, [("r.yaml", [r("x")])], lambda n: (_ for _ in ()).throw(KeyError(n)))
    assert "base bundle 'ghost' cannot be loaded" in str(err.value)


def test_overlay_uses_the_base_obligations(base_bundle, r):
    bundle = overlay(base_bundle, [r("x", obligations=["explain_refusal"])])
    assert bundle.obligations["explain_refusal"].en == "Explain the refusal."


def test_overlay_inherits_thresholds_and_consent_bands(r):
    """An overlay that does not declare them keeps its base's age/year thresholds and consent_by_age:
    replacing or adding rules must not silently change who has to consent for the base's rules."""
    base, _ = parse_bundle(
        "b/bundle.yaml",
        {"name": "b", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], "age_thresholds": [4, 12, 16, 18],
         "year_thresholds": [10], "consent_by_age": [{"below": 16, "from": ["gezag"]}, {"from": ["self"]}]},
        [("b/r.yaml", [r("a", when={"age_below": 4})])])
    bundle = overlay(base, [r("o-rule", when={"all": [{"age_at_least": 4},
                                                      {"fact": "resource.years_since_last_change", "gte": 10}]})])
    assert bundle.thresholds == base.thresholds
    assert bundle.consent_by_age == base.consent_by_age
    own = overlay(base, [r("o-rule")], age_thresholds=[12, 18], consent_by_age=[{"from": ["self"]}])
    assert own.thresholds["client.age"] == (12, 18)
    assert [b.from_ for b in own.consent_by_age] == [("self",)]
