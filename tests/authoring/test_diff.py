"""The diff is exact: its change at any facts equals the change between evaluating both bundles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from authoring_strategies import fact_values, requests, with_consent
from conftest import bundle_at, real
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poortwachter.authoring.diff import Diff, change_of
from poortwachter.authoring.diff_render import render_markdown
from poortwachter.cli import main
from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.compare import Difference, shadow_compare
from poortwachter.core.decide import derive_facts
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.evaluate import evaluate
from poortwachter.core.policy.model import Bundle
from poortwachter.core.request import parse_envelope

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=AMSTERDAM)
PAIRS = [
    ("tests/fixtures/policies/mini", "tests/fixtures/policies/mini-overlay"),
    ("tests/fixtures/policies/mini-overlay", "tests/fixtures/policies/mini"),
    ("policies/nl-jgz-2020", "policies/nl-jgz"),
    ("policies/nl-jeugdhulp-2019", "policies/nl-jeugdhulp"),
    ("policies/nl-jeugdhulp", "policies/duo-plus-uithoorn"),
    ("policies/nl-jeugdhulp", "policies/duo-plus-diemen"),
]
_diffs: dict[tuple[str, str], tuple[Diff, CompiledBundle, CompiledBundle]] = {}
"""A pair's diff, built once per process: nl-jeugdhulp → duo-plus-* take 5–6 s (CPU) each."""


@pytest.fixture(scope="module", autouse=True)
def _drop_diffs() -> Iterator[None]:
    """The diffs go with the module: kept alive to the end of the session, their ~10^6 objects were walked by
    every full garbage collection after it (pytest's five at the session's end took ~2 s)."""
    yield
    _diffs.clear()


def _on_one_worker(pairs: list[tuple[str, str]]) -> list[object]:
    """Both tests of a pair on one xdist worker, so its diff is built once, not once per worker."""
    return [pytest.param(old, new, marks=pytest.mark.xdist_group(f"diff {old} {new}")) for old, new in pairs]


def _pair(old: str, new: str) -> tuple[Diff, CompiledBundle, CompiledBundle]:
    if (old, new) not in _diffs:
        a = bundle_at(old) if old.startswith("tests") else real(old)
        b = bundle_at(new) if new.startswith("tests") else real(new)
        _diffs[(old, new)] = (Diff(a, b), compile_bundle(a, "old"), compile_bundle(b, "new"))
    return _diffs[(old, new)]


@pytest.mark.parametrize(("old", "new"), _on_one_worker(PAIRS))
def test_diff_equals_evaluating_both_on_random_facts(old: str, new: str) -> None:
    diff, a, b = _pair(old, new)
    # built once: a strategy made inside the test is made (and its label hashed, every one of
    # tens of thousands of regions) again for each example
    facts_of_a, changed = fact_values(a.bundle), st.sampled_from(diff.regions)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        facts = data.draw(facts_of_a)
        if diff.regions and data.draw(st.booleans()):  # half the time: a point inside a changed region
            region = data.draw(changed)
            facts = with_consent({**facts, **diff.space.sample(region.masks)}, a.bundle)
        expected = change_of(evaluate(a, facts), evaluate(b, with_consent(facts, b.bundle)))
        assert diff.change_at(facts) == expected

    check()


@pytest.mark.parametrize(("old", "new"), _on_one_worker([p for p in PAIRS if not p[0].startswith("policies/authzen")]))
def test_diff_equals_evaluating_both_on_random_requests(old: str, new: str) -> None:
    diff, a, b = _pair(old, new)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(requests())
    def check(request: dict) -> None:
        envelope = parse_envelope(request, NOW)
        fa, fb = derive_facts(a, envelope), derive_facts(b, envelope)
        assert diff.change_at(fa) == change_of(evaluate(a, fa), evaluate(b, fb))

    check()


def test_mini_to_overlay_in_words(mini: Bundle, overlay: Bundle) -> None:
    diff = Diff(mini, overlay)
    assert diff.counts() == {"loss": 4, "gain": 1, "rules": 3, "obligations": 0}
    assert {(c.id, c.what) for c in diff.rule_changes} == {
        ("self-16-plus", "added"), ("local-extra", "added"), ("self-12-plus", "removed"), ("retention-old", "removed")}
    facts = {"action.name": "read", "resource.category": "gespreksverslag", "subject.type": "person",
             "subject.relation": "self", "subject.gezag": False, "subject.shielded": False, "client.age": 13,
             "resource.years_since_last_change": 3, "consent.self": False, "attestation.court_order": False}
    change = diff.change_at(facts)
    assert change is not None and change.kind == "loss"
    assert (change.old, change.new, change.removed, change.added) == ("allow", "default", ("self-12-plus",), ())
    assert change.obligations_removed == ("log_access",)
    assert diff.change_at({**facts, "client.age": 11}) is None  # default deny in both
    assert diff.change_at({**facts, "client.age": 16}).kind == "rules"  # allowed in both, by another rule
    md = render_markdown(diff)
    assert "the young person aged 12–15 — inzage (read) and afschrift (copy)" in md
    assert "no longer allowed" in md and "newly allowed" in md


def test_identical_bundles_have_no_diff(mini: Bundle) -> None:
    assert Diff(mini, mini).regions == []


def test_diff_command_exit_codes(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    mini, over = "tests/fixtures/policies/mini", "tests/fixtures/policies/mini-overlay"
    assert main(["diff", mini, mini]) == 0
    assert main(["diff", mini, over]) == 1
    assert "8 regions change: 4 lose access, 1 gain access" in capsys.readouterr().out
    assert main(["diff", mini, "tests/fixtures/policies/nope"]) == 2
    out = tmp_path / "d.json"
    assert main(["diff", mini, over, "--format", "json", "-o", str(out), "--html", str(tmp_path / "d.html")]) == 1
    data = json.loads(out.read_text())
    assert data["summary"]["loss"] == 4 and len(data["regions"]) == 8
    assert "<table" in (tmp_path / "d.html").read_text()
    assert main(["diff", "mini@1.0.0", "mini-overlay@1.0.0", "--policies", "tests/fixtures/policies"]) == 1


def test_shadow_compare(mini: Bundle, overlay: Bundle) -> None:
    a, b = compile_bundle(mini, "a"), compile_bundle(overlay, "b")
    facts = {"action.name": "read", "resource.category": "groei", "subject.type": "person",
             "subject.relation": "self", "subject.gezag": False, "subject.shielded": False, "client.age": 13,
             "consent.self": False, "resource.years_since_last_change": 0}
    found = shadow_compare(a, b, facts)
    assert isinstance(found, Difference)
    assert (found.kind, found.active_decision, found.candidate_decision) == ("decision", True, False)
    assert found.active_rules == ("self-12-plus",) and found.candidate_rules == ("default-deny",)
    assert found.as_json()["candidate"]["bundle"] == "mini-overlay@1.0.0"
    assert shadow_compare(a, b, {**facts, "client.age": 10}) is None
    rules = shadow_compare(a, b, {**facts, "client.age": 17})
    assert rules is not None and rules.kind == "rules"
    assert shadow_compare(a, a, facts) is None
