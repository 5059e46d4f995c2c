"""`poortwachter` exit codes fit CI: 0 ok, 1 a test failed, 2 invalid input."""

from __future__ import annotations

import importlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from poortwachter.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINI = "tests/fixtures/policies/mini"
BROKEN = "tests/fixtures/policies/broken"


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def request_file(tmp_path, request_for) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_for(birthdate="2010-01-01")))
    return path


@pytest.fixture
def key(tmp_path, capsys) -> Path:
    assert main(["keygen", str(tmp_path / "keys" / "ci")]) == 0
    capsys.readouterr()
    return tmp_path / "keys" / "ci.key"


def copy_of(folder: str, tmp_path: Path) -> Path:
    target = tmp_path / "policies" / Path(folder).name
    shutil.copytree(ROOT / folder, target)
    return target


# --- validate


def test_validate_ok(capsys):
    code, out, _ = run(capsys, "validate", MINI, "tests/fixtures/policies/mini-overlay")
    assert code == 0
    assert f"{MINI}: mini@1.0.0 valid, 7 rules" in out
    assert "mini-overlay@1.0.0 valid" in out


def test_validate_broken_lists_every_error_and_exits_2(capsys):
    code, _, err = run(capsys, "validate", BROKEN)
    assert code == 2
    for where in ("rules/10-semantics.yaml:11 [rule unknown-fact]", "rules/10-semantics.yaml:18 [rule bad-value]",
                  "rules/10-semantics.yaml:28 [rule undeclared-threshold]",
                  "rules/10-semantics.yaml:32 [rule unknown-obligation]", "rules/10-semantics.yaml:39 [rule ok-rule]",
                  "rules/20-syntax.yaml:4: error: invalid YAML", "rules/30-duplicate-key.yaml:4: error"):
        assert f"{BROKEN}/{where}" in err, where
    assert f"{BROKEN}: INVALID (7 errors)" in err


def test_validate_good_and_bad_exits_2_but_reports_both(capsys):
    code, out, err = run(capsys, "validate", MINI, BROKEN)
    assert code == 2 and "mini@1.0.0 valid" in out and "INVALID" in err


def test_validate_warnings_do_not_fail(capsys, tmp_path):
    folder = copy_of(MINI, tmp_path)
    (folder / "bundle.yaml").write_text((folder / "bundle.yaml").read_text()
                                        + "  spare: {nl: \"Reserve.\", en: \"Spare.\"}\n")
    code, out, _ = run(capsys, "validate", str(folder))
    assert code == 0
    assert "warning: obligation 'spare' is declared but no rule uses it" in out


def test_validate_missing_folder(capsys, tmp_path):
    code, _, err = run(capsys, "validate", str(tmp_path / "nowhere"))
    assert code == 2 and "no bundle.yaml in this folder" in err


# --- test


def test_test_passes_and_prints_coverage(capsys):
    code, out, _ = run(capsys, "test", MINI)
    assert code == 0
    assert "2/2 scenarios passed; rule coverage 1/7 (14%)" in out
    assert "not exercised: shielded" in out


def test_test_require_coverage_fails_when_rules_are_untested(capsys):
    code, _, _ = run(capsys, "test", MINI, "--require-coverage")
    assert code == 1


def test_test_failure_exits_1_with_a_readable_diff(capsys, tmp_path):
    folder = copy_of(MINI, tmp_path)
    suite = folder / "tests" / "basic.yaml"
    suite.write_text(suite.read_text().replace("expect: {decision: true, rules: [self-12-plus]",
                                               "expect: {decision: false, rules: [shielded]"))
    code, out, _ = run(capsys, "test", str(folder))
    assert code == 1
    assert "FAIL self-12-birthday" in out
    assert "decision: expected deny, got allow (decided by self-12-plus)" in out
    assert "rules: expected ['shielded'], got ['self-12-plus']" in out
    assert "1/2 scenarios passed" in out


def test_test_invalid_suite_exits_2(capsys, tmp_path):
    folder = copy_of(MINI, tmp_path)
    (folder / "tests" / "bad.yaml").write_text("scenarios:\n  - id: no-source\n    request: {}\n    expect: {}\n")
    code, _, err = run(capsys, "test", str(folder))
    assert code == 2 and "scenario no-source" in err


def test_test_request_error_in_a_scenario_is_a_failure(capsys, tmp_path):
    folder = copy_of(MINI, tmp_path)
    suite = folder / "tests" / "basic.yaml"
    suite.write_text(suite.read_text().replace("action: {name: read}", "action: {name: lezen}", 1))
    code, out, _ = run(capsys, "test", str(folder))
    assert code == 1 and "request error: action.name: expected one of read" in out


def test_test_invalid_bundle_exits_2(capsys):
    code, _, err = run(capsys, "test", BROKEN)
    assert code == 2 and "unknown fact" in err


# --- explain


def test_explain_text(capsys, request_file):
    code, out, _ = run(capsys, "explain", str(request_file), "--bundle", MINI)
    assert code == 0
    assert out.startswith("DENY by mini@1.0.0")
    assert "missing consent.self (rule parent-16-plus-with-consent)" in out
    assert "client.age = 16" in out
    assert "parent-16-plus-with-consent: no: consent.self or attestation.court_order" in out


def test_explain_json(capsys, request_file):
    code, out, _ = run(capsys, "explain", str(request_file), "--bundle", MINI, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert "default-deny" in json.dumps(doc)


def test_explain_evaluates_once(capsys, monkeypatch, request_file):
    """explain parses and derives once (prepare), then evaluates once inside explain: no second pass."""
    decide = importlib.import_module("poortwachter.core.decide")  # the module (the package may export the function)
    evaluation = importlib.import_module("poortwachter.core.policy.evaluate")

    calls: list[str] = []
    real = evaluation.evaluate

    def counted(bundle, facts):
        calls.append(bundle.bundle.key)
        return real(bundle, facts)

    monkeypatch.setattr(evaluation, "evaluate", counted)
    monkeypatch.setattr(decide, "evaluate", counted)
    code, out, _ = run(capsys, "explain", str(request_file), "--bundle", MINI)
    assert code == 0 and out.startswith("DENY by mini@1.0.0")
    assert calls == ["mini@1.0.0"]


def test_explain_from_stdin(capsys, monkeypatch, request_for):
    body = json.dumps(request_for(birthdate="2016-01-01")).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    code, out, _ = run(capsys, "explain", "-", "--bundle", MINI)
    assert code == 0 and out.startswith("ALLOW by mini@1.0.0") and "parent-gezag-under-12" in out


@pytest.mark.parametrize(("content", "words"), [
    ("{not json", "not JSON"),
    (json.dumps({"subject": {"type": "person", "id": "p"}, "action": {"name": "lezen"}}), "resource: expected an object"),
    ("REQUEST_LEZEN", "action.name: expected one of read"),
    (json.dumps([1, 2]), "request: expected an object"),
])
def test_explain_invalid_request_exits_2(capsys, tmp_path, request_for, content, words):
    if content == "REQUEST_LEZEN":
        content = json.dumps(request_for(action="lezen"))
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, _, err = run(capsys, "explain", str(path), "--bundle", MINI)
    assert code == 2 and words in err


def test_explain_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "explain", str(tmp_path / "none.json"), "--bundle", MINI)
    assert code == 2 and "none.json" in err


def test_explain_invalid_bundle_exits_2(capsys, request_file):
    code, _, err = run(capsys, "explain", str(request_file), "--bundle", BROKEN)
    assert code == 2 and "unknown fact" in err


# --- build (and explain against built artifacts)


def test_build_and_explain_from_artifacts(capsys, tmp_path, key, request_file):
    out_dir = tmp_path / "bundles"
    code, out, _ = run(capsys, "build", MINI, "tests/fixtures/policies/mini-overlay", "--key", str(key),
                       "--out", str(out_dir), "--revision", "git:abc")
    assert code == 0
    assert f"built {out_dir / 'mini-1.0.0.bundle.json'} (mini@1.0.0, key ci)" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["mini-1.0.0.bundle.json", "mini-overlay-1.0.0.bundle.json"]
    manifest: dict[str, Any] = json.loads((out_dir / "mini-1.0.0.bundle.json").read_text())["manifest"]
    assert (manifest["source_revision"], manifest["key_id"]) == ("git:abc", "ci")
    code, out, _ = run(capsys, "explain", str(request_file), "--bundles", str(out_dir), "--keys", str(key.parent),
                       "--bundle", "mini@1.0.0")
    assert code == 0 and "DENY by mini@1.0.0 (sha256:" in out
    # a tampered artifact is refused (and reported); the request then names a bundle nobody loaded
    path = out_dir / "mini-1.0.0.bundle.json"
    path.write_text(path.read_text().replace("Vanaf 12 jaar", "Vanaf 10 jaar"))
    code, _, err = run(capsys, "explain", str(request_file), "--bundles", str(out_dir), "--keys", str(key.parent),
                       "--bundle", "mini")
    assert code == 2
    assert "refused mini-1.0.0.bundle.json" in err and "content was changed after signing" in err
    assert "no bundle named 'mini'" in err


def test_build_invalid_bundle_exits_2(capsys, tmp_path, key):
    code, _, err = run(capsys, "build", BROKEN, "--key", str(key), "--out", str(tmp_path / "b"))
    assert code == 2 and "unknown fact" in err
    assert not (tmp_path / "b").exists()


def test_build_without_key_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "build", MINI, "--key", str(tmp_path / "no.key"), "--out", str(tmp_path / "b"))
    assert code == 2 and "no.key" in err


def test_keygen_refuses_to_overwrite(capsys, key):
    code, _, err = run(capsys, "keygen", str(key.with_suffix("")))
    assert code == 2 and "exists; pass --force" in err
    assert run(capsys, "keygen", str(key.with_suffix("")), "--force")[0] == 0


def test_schema_prints_json_schema(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out)["title"].startswith("Poortwachter rule file")


def test_console_script_exit_codes():
    exe = Path(sys.executable).parent / "poortwachter"  # the environment running the tests
    if not exe.exists():
        pytest.skip("console script not installed")
    ok = subprocess.run([str(exe), "validate", MINI], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    bad = subprocess.run([str(exe), "validate", BROKEN], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    usage = subprocess.run([str(exe), "frobnicate"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert (ok.returncode, bad.returncode, usage.returncode) == (0, 2, 2)
