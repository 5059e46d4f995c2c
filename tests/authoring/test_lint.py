"""lint finds gaps, overlaps, dead and shadowed rules, untested rules, weak sources, odd thresholds."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from poortwachter.artifacts.folder import load_folder
from poortwachter.authoring.lint import lint, parse_levels
from poortwachter.cli import main

SEED = "002_923faf2da0e7a8f9.txt"

RULES = f"""
- id: self-12-plus
  effect: allow
  actions: [read]
  subject: {{relation: self}}
  when: {{age_at_least: 12}}
  reason: {{nl: "Vanaf 12 zelf inzage.", en: "From 12 access yourself."}}
  basis: ["BW 7:456"]
  source: ["{SEED}:10-12"]
- id: parent-under-12
  effect: allow
  actions: [read]
  subject: {{relation: ouder, gezag: true}}
  when: {{age_below: 12}}
  reason: {{nl: "Ouders onder 12.", en: "Parents under 12."}}
  basis: ["BW 7:465"]
  source: ["{SEED}:13-14"]
- id: parent-16-plus
  effect: allow
  actions: [read]
  subject: {{relation: ouder, gezag: true}}
  when: {{age_at_least: 16}}
  reason: {{nl: "Ouders vanaf 16.", en: "Parents from 16."}}
  basis: ["BW 7:457"]
  source: ["{SEED}:15"]
- id: shielded
  effect: deny
  actions: [any]
  subject: {{shielded: true}}
  reason: {{nl: "Afgeschermd.", en: "Shielded."}}
  basis: ["BW 7:457"]
  source: ["{SEED}:16-17"]
- id: shielded-self
  effect: allow
  actions: [copy]
  subject: {{relation: self, shielded: true}}
  reason: {{nl: "Kopie.", en: "Copy."}}
  basis: ["TODO"]
  source: ["somewhere in the toolkit"]
- id: contradiction
  effect: allow
  actions: [write]
  subject: {{relation: self}}
  when: {{all: [{{age_at_least: 16}}, {{age_below: 12}}]}}
  reason: {{nl: "Nooit.", en: "Nooit."}}
  basis: ["BW 7:456"]
  source: ["{SEED}:999999-1000000"]
- id: destroy-by-age
  effect: allow
  actions: [destroy]
  subject: {{relation: self}}
  when: {{age_at_least: 14}}
  reason: {{nl: "Vernietigen.", en: "Destroy."}}
  basis: ["BW 7:455"]
  source: ["{SEED}:18"]
"""


def _bundle(tmp_path: Path, with_tests: bool = True) -> Path:
    folder = tmp_path / "lintme"
    (folder / "rules").mkdir(parents=True)
    (folder / "bundle.yaml").write_text(textwrap.dedent("""
        name: lintme
        version: 1.0.0
        effective_from: 2020-01-01
        dossier_types: [jgz]
        age_thresholds: [12, 14, 16]
    """))
    (folder / "rules" / "r.yaml").write_text(RULES)
    if with_tests:
        (folder / "tests").mkdir()
        (folder / "tests" / "t.yaml").write_text(textwrap.dedent(f"""
            name: t
            scenarios:
              - id: self-13
                source: {SEED}:10-12
                request:
                  subject: {{type: person, id: c-1, properties: {{relation: self}}}}
                  action: {{name: read}}
                  resource: {{type: dossier, id: d-1, properties: {{dossier_type: jgz, client: {{id: c-1, birthdate: "2010-01-01"}}}}}}
                  context: {{time: "2023-06-01T10:00:00+02:00"}}
                expect: {{decision: true, rules: [self-12-plus]}}
        """))
    return folder


def _seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / SEED).write_text("line\n" * 100)
    return seeds


def test_findings(tmp_path: Path) -> None:
    bundle = load_folder(_bundle(tmp_path))[0]
    found = lint(bundle, covered={"self-12-plus"}, seeds=_seeds(tmp_path))
    by = {(f.code, f.rule) for f in found}
    assert ("never-applies", "contradiction") in by
    assert ("never-decides", "shielded-self") in by  # wherever it applies, `shielded` denies
    assert ("basis-placeholder", "shielded-self") in by
    assert ("source-format", "shielded-self") in by
    assert ("source-unknown", "contradiction") in by  # lines beyond the end of the seed file
    assert ("reason-untranslated", "contradiction") in by
    assert ("no-scenario", "parent-under-12") in by and ("no-scenario", "self-12-plus") not in by
    assert ("threshold-missing", None) in by and ("threshold-extra", None) in by
    overlap = [f for f in found if f.code == "overlap"]
    assert {f.rule for f in overlap} >= {"self-12-plus", "parent-under-12"}
    gaps = [f.message for f in found if f.code == "gap-age"]
    assert any(m.startswith("parents with gezag: allow rules apply") and "at ages 12–15 no allow rule" in m and "inzage (read)" in m for m in gaps), gaps
    assert all(f.severity == "error" for f in found if f.code in ("never-applies", "never-decides", "source-unknown"))


def test_severity_overrides(tmp_path: Path) -> None:
    bundle = load_folder(_bundle(tmp_path))[0]
    found = lint(bundle, severity=parse_levels(["never-decides=warning", "gap-age=off"]))
    assert {f.severity for f in found if f.code == "never-decides"} == {"warning"}
    assert not [f for f in found if f.code == "gap-age"]
    with pytest.raises(ValueError):
        parse_levels(["nonsense=error"])


def test_lint_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _bundle(tmp_path)
    seeds = _seeds(tmp_path)
    assert main(["lint", str(folder), "--seeds", str(seeds)]) == 1
    out = capsys.readouterr().out
    assert "error never-applies" in out and "[rule contradiction]" in out
    assert "warning no-scenario" in out and "no-scenario: no scenario makes this rule decide" in out
    assert "[rule self-12-plus] warning no-scenario" not in out  # the scenario covers it
    (folder / "lint.yaml").write_text("severity: {never-applies: warning, never-decides: warning, "
                                      "basis-placeholder: off, source-unknown: info}\n")
    assert main(["lint", str(folder), "--seeds", str(seeds)]) == 0
    assert main(["lint", str(folder), "--seeds", str(seeds), "--fail-on", "warning"]) == 1


def test_fixture_bundles_lint_clean_of_errors() -> None:
    for folder in ("tests/fixtures/policies/mini", "policies/authzen-certification"):
        assert main(["lint", folder, "--severity", "no-scenario=off"]) == 0
