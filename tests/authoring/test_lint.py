"""lint finds gaps, overlaps, dead and shadowed rules, untested rules, weak sources, odd thresholds."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest
import yaml

from poortwachter.artifacts.folder import load_folder
from poortwachter.authoring.lint import Finding, bundle_registry, lint, parse_levels, text_findings
from poortwachter.authoring.sources import Citation, parse_citation, read_registry
from poortwachter.cli import main

FAST_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DOC = "doc-a"  # registered in the folder's sources.md; its text has sections 1.1-1.4
TEXT = "Inleiding\n1.1 Eerste\n1.2 Tweede\n1.3 Derde\n1.4 Vierde\nBijlage A: iets\n"

RULES = f"""
- id: self-12-plus
  effect: allow
  actions: [read]
  subject: {{relation: self}}
  when: {{age_at_least: 12}}
  reason: {{nl: "Vanaf 12 zelf inzage.", en: "From 12 access yourself."}}
  basis: ["BW 7:456"]
  source: ["{DOC} §1.1"]
- id: parent-under-12
  effect: allow
  actions: [read]
  subject: {{relation: ouder, gezag: true}}
  when: {{age_below: 12}}
  reason: {{nl: "Ouders onder 12.", en: "Parents under 12."}}
  basis: ["BW 7:465"]
  source: ["{DOC} §1.2"]
- id: parent-16-plus
  effect: allow
  actions: [read]
  subject: {{relation: ouder, gezag: true}}
  when: {{age_at_least: 16}}
  reason: {{nl: "Ouders vanaf 16.", en: "Parents from 16."}}
  basis: ["BW 7:457"]
  source: ["{DOC} §1.3, bijlage A"]
- id: shielded
  effect: deny
  actions: [any]
  subject: {{shielded: true}}
  reason: {{nl: "Afgeschermd.", en: "Shielded."}}
  basis: ["BW 7:457"]
  source: ["{DOC} inleiding"]
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
  source: ["{DOC} §9.9"]
- id: destroy-by-age
  effect: allow
  actions: [destroy]
  subject: {{relation: self}}
  when: {{age_at_least: 14}}
  reason: {{nl: "Vernietigen.", en: "Destroy."}}
  basis: ["BW 7:455"]
  source: ["doc-zzz §1"]
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
    (folder / "sources.md").write_text("| id | document |\n|---|---|\n| `doc-a` | *A document* |\n")
    if with_tests:
        (folder / "tests").mkdir()
        (folder / "tests" / "t.yaml").write_text(textwrap.dedent(f"""
            name: t
            scenarios:
              - id: self-13
                source: {DOC} §1.1
                request:
                  subject: {{type: person, id: c-1, properties: {{relation: self}}}}
                  action: {{name: read}}
                  resource: {{type: dossier, id: d-1, properties: {{dossier_type: jgz, client: {{id: c-1, birthdate: "2010-01-01"}}}}}}
                  context: {{time: "2023-06-01T10:00:00+02:00"}}
                expect: {{decision: true, rules: [self-12-plus]}}
        """))
    return folder


def _texts(tmp_path: Path) -> Path:
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / f"{DOC}.txt").write_text(TEXT)
    return texts


def test_findings(tmp_path: Path) -> None:
    bundle = load_folder(_bundle(tmp_path))[0]
    found = lint(bundle, covered={"self-12-plus"}, texts=_texts(tmp_path))
    by = {(f.code, f.rule) for f in found}
    assert ("never-applies", "contradiction") in by
    assert ("never-decides", "shielded-self") in by  # wherever it applies, `shielded` denies
    assert ("basis-placeholder", "shielded-self") in by
    assert ("source-format", "shielded-self") in by
    assert ("source-unknown", "contradiction") in by  # §9.9 is not in the text of doc-a
    assert ("source-unknown", "destroy-by-age") in by  # doc-zzz is not in the registry
    assert not {("source-unknown", r) for r in ("self-12-plus", "parent-16-plus", "shielded")} & by
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
    seeds = _texts(tmp_path)
    assert main(["lint", str(folder), "--texts", str(seeds)]) == 1
    out = capsys.readouterr().out
    assert "error never-applies" in out and "[rule contradiction]" in out
    assert "warning no-scenario" in out and "no-scenario: no scenario makes this rule decide" in out
    assert "[rule self-12-plus] warning no-scenario" not in out  # the scenario covers it
    (folder / "lint.yaml").write_text("severity: {never-applies: warning, never-decides: warning, "
                                      "basis-placeholder: off, source-unknown: info}\n")
    assert main(["lint", str(folder), "--texts", str(seeds)]) == 0
    assert main(["lint", str(folder), "--texts", str(seeds), "--fail-on", "warning"]) == 1


def test_fixture_bundles_lint_clean_of_errors() -> None:
    for folder in ("tests/fixtures/policies/mini", "policies/authzen-certification"):
        assert main(["lint", folder, "--severity", "no-scenario=off"]) == 0


def _messages(found: list[Finding], code: str) -> list[str]:
    return [f.message for f in found if f.code == code]


def test_citations_checked_against_the_registry_without_texts(tmp_path: Path) -> None:
    """No folder of texts: ids still checked against the registry, and lint says the texts were not."""
    bundle = load_folder(_bundle(tmp_path))[0]
    found = lint(bundle, texts=None)
    unknown = {f.rule for f in found if f.code == "source-unknown"}
    assert unknown == {"destroy-by-age"}  # the unregistered id; §9.9 cannot be checked without the text
    assert any("doc-zzz" in m and "expected one of doc-a" in m for m in _messages(found, "source-unknown"))
    assert _messages(found, "source-texts-unchecked") == [
        "no folder of source texts given (--texts DIR): the cited sections were checked against the registry "
        "only, not against the texts"]
    assert lint(bundle, texts=tmp_path / "no-such-folder") == found  # a folder that is not there: the same


def test_no_registry_is_said_plainly(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    (folder / "sources.md").unlink()
    found = lint(load_folder(folder)[0], texts=_texts(tmp_path))
    assert not [f for f in found if f.code == "source-unknown"]
    assert [f.severity for f in found if f.code == "source-unchecked"] == ["warning"]


def test_text_found_by_its_sha256_or_reported_missing(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "0001_scan.txt").write_text(TEXT)
    digest = hashlib.sha256(TEXT.encode()).hexdigest()
    bundle = load_folder(folder)[0]
    missing = lint(bundle, texts=texts)
    assert _messages(missing, "source-text-missing") and not _messages(missing, "source-texts-unchecked")
    assert "contradiction" not in {f.rule for f in missing if f.code == "source-unknown"}  # not checked
    with (folder / "sources.md").open("a") as f:
        f.write(f"\n| id | sha256 |\n|---|---|\n| `doc-a` | `{digest}` |\n")
    found = lint(load_folder(folder)[0], texts=texts)
    assert not _messages(found, "source-text-missing")
    assert any("§9.9 not found in the text of doc-a" in m for m in _messages(found, "source-unknown"))


def test_registry_and_citation_grammar() -> None:
    registry = read_registry(Path("docs/sources.md").read_text(encoding="utf-8"), "docs/sources.md")
    assert set(registry.documents) == {"toolkit-jgz-2026", "wegwijzer-dossier-jeugdhulp-2021",
                                       "privacyhandreiking-duo-plus-2018", "nvo-kopie-dossier",
                                       "faq-jeugddossier-2021"}
    assert all(len(d.sha256) == 1 for d in registry.documents.values())
    assert parse_citation("toolkit-jgz-2026 §6.7.2, bijlage C") == Citation("toolkit-jgz-2026", ("§6.7.2", "bijlage C"))
    assert parse_citation("nvo-kopie-dossier") == Citation("nvo-kopie-dossier", ())
    for bad in ("002_923faf2da0e7a8f9.txt:1-2", "toolkit-jgz-2026 6.7.2", "somewhere in the toolkit", "Toolkit §1"):
        assert parse_citation(bad) is None, bad


def test_project_bundles_cite_registered_documents() -> None:
    """Every rule of every bundle in policies/ cites a document its registry lists, in the citation form."""
    for folder in sorted(Path("policies").iterdir()):
        if not (folder / "bundle.yaml").is_file():
            continue
        bundle = load_folder(folder)[0]
        bad = [f for f in text_findings(bundle, None, bundle_registry(bundle))
               if f.code in ("source-format", "source-unknown", "source-unchecked")]
        assert not bad, (folder, bad[:3])


def test_lint_command_texts_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No --texts: said in the output; a --texts folder that is not there: a usage error, not a silent skip."""
    folder = _bundle(tmp_path)
    main(["lint", str(folder)])
    assert "warning source-texts-unchecked: no folder of source texts given (--texts DIR)" in capsys.readouterr().out
    assert main(["lint", str(folder), "--texts", str(tmp_path / "nowhere")]) == 2
    assert "expected a folder of source texts, got no such folder" in capsys.readouterr().err


def test_law_scenarios_cite_registered_documents() -> None:
    """Every scenario of the law bundles cites '<id> <place>' (several joined by '; ') from docs/sources.md."""
    registry = read_registry(Path("docs/sources.md").read_text(encoding="utf-8"), "docs/sources.md")
    checked = 0
    for suite in sorted(Path("policies").glob("*/tests/*.yaml")):
        if (suite.parent.parent / "sources.md").is_file():
            continue  # the non-legal fixtures keep their own registry
        # libyaml's safe loader when present (as the product's bundle loader): the pure-Python one took 6 s here
        for scenario in yaml.load(suite.read_text(encoding="utf-8"), Loader=FAST_YAML).get("scenarios", []):
            for part in str(scenario["source"]).split("; "):
                citation = parse_citation(part)
                assert citation is not None and citation.id in registry.documents, (suite, scenario["id"], part)
                checked += 1
    assert checked > 1000
