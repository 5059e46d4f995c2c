"""The rule reference: complete per rule, stable, and checked to be current."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from poortwachter.authoring.reference import render_reference
from poortwachter.cli import main
from poortwachter.core.policy.model import Bundle


def test_reference_of_mini(mini: Bundle) -> None:
    text = render_reference(mini, "poortwachter reference tests/fixtures/policies/mini")
    assert text.startswith("# Rule reference: mini 1.0.0")
    assert text.count("\n### `") == len(mini.rules)
    section = text[text.index("### `parent-16-plus-with-consent`"):text.index("### `raw-test-data-no-copy`")]
    assert "- **actions**: read" in section
    assert "`subject.relation` is one of `ouder`, `voogd`" in section
    assert "the client is 16 or older" in section
    assert "- any of:" in section and "`consent.self` (consent of the young person)" in section
    assert "- **legal basis**: BW 7:457" in section
    assert "- **source**: `toolkit-jgz-2026 inleiding`" in section
    assert "- **reason (nl)**: Met toestemming van de jongere." in section
    assert "- **reason (en)**: With the young person's consent." in section
    assert "mini/rules/inzage.yaml:" in section
    raw = text[text.index("### `raw-test-data-no-copy`"):]
    assert "not all of" not in raw.split("###")[1] and "`subject.type` is not `professional`" in raw
    assert "| `explain_refusal` | 1 | Leg de weigering uit. | Explain the refusal. |" in text
    assert render_reference(mini, "x") == render_reference(mini, "x")  # stable


def test_overlay_reference_names_its_base(overlay: Bundle) -> None:
    text = render_reference(overlay, "x")
    assert "| overlay of | `mini@1.0.0` |" in text and "| base rules removed | `retention-old` |" in text
    assert "- **replaces** base rule `self-12-plus`" in text


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "tests/fixtures/policies/mini", policies / "mini")
    out = tmp_path / "ref"
    args = ["reference", "--policies", str(policies), "--out-dir", str(out)]
    assert main([*args, "--check"]) == 1  # missing
    assert main(args) == 0
    assert (out / "mini.md").is_file()
    assert main([*args, "--check"]) == 0
    rules = policies / "mini" / "rules" / "inzage.yaml"
    rules.write_text(rules.read_text().replace("Vanaf 12 jaar heb je zelf inzage.", "Vanaf 12 jaar zelf inzage."))
    assert main([*args, "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_checked_in_references_are_current() -> None:
    """What CI runs: every bundle folder of policies/ has a current docs/reference/<folder>.md."""
    assert main(["reference", "--check", "--policies", str(ROOT / "policies"),
                 "--out-dir", str(ROOT / "docs" / "reference")]) == 0, \
        "run `poortwachter reference` and commit docs/reference"
