"""What a policy author reads: diff's summary by default, where matrix writes, errors worded for a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from poortwachter.cli import main
from poortwachter.core.errors import did_you_mean, unknown

ROOT = Path(__file__).resolve().parents[2]
MINI = str(ROOT / "tests/fixtures/policies/mini")
OVERLAY = str(ROOT / "tests/fixtures/policies/mini-overlay")
FIXTURES = str(ROOT / "tests/fixtures/policies")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_prints_the_summary_by_default_and_every_region_with_full(capsys: pytest.CaptureFixture[str]) -> None:
    code, summary, _ = run(capsys, "diff", MINI, OVERLAY)
    assert code == 1 and "8 regions change" in summary
    code, full, _ = run(capsys, "diff", MINI, OVERLAY, "--full")
    assert code == 1 and full.startswith(summary.splitlines()[0])
    numbered = [line for line in full.splitlines() if line.lstrip()[:3] in {f"{n}. " for n in range(1, 10)}]
    assert len(numbered) == 8  # one numbered line per exact region, only with --full
    assert not any(line.lstrip()[:3] in {f"{n}. " for n in range(1, 10)} for line in summary.splitlines())
    assert run(capsys, "diff", MINI, OVERLAY, "--brief")[1] == summary  # the old flag: the default now
    md, md_full = run(capsys, "diff", MINI, OVERLAY, "--format", "md")[1], run(capsys, "diff", MINI, OVERLAY,
                                                                              "--format", "md", "--full")[1]
    assert "<details>" not in md and md_full.count("<details>") > 0 and "`poortwachter diff --full` lists them" in md


def test_diff_full_and_brief_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["diff", MINI, OVERLAY, "--full", "--brief"])
    assert exit_.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_matrix_writes_to_the_current_directory_without_o(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "matrix", MINI)
    assert code == 0 and (tmp_path / "mini-1.0.0.html").read_text(encoding="utf-8").count('class="seg') > 100
    assert "wrote mini-1.0.0.html" in err
    code, _, _ = run(capsys, "matrix", "mini-overlay@1.0.0", "--against", "mini@1.0.0", "--policies", FIXTURES)
    assert code == 0 and (tmp_path / "mini-1.0.0-to-mini-overlay-1.0.0.html").is_file()
    assert not list(Path(FIXTURES).glob("*.html")) and not list(ROOT.glob("*.html"))


def test_an_unknown_bundle_name_lists_the_known_ones_and_the_near_miss(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "diff", "mnii", MINI, "--policies", FIXTURES, "--bundles", FIXTURES + "/none")
    assert code == 2
    assert f"no bundle named 'mnii' in {FIXTURES}/, nor a folder or file of that name; known: " in err
    assert "mini, mini-overlay" in err and err.rstrip().endswith("did you mean 'mini'?")
    assert "expected" not in err and "got" not in err
    code, _, err = run(capsys, "diff", "mini@9.9.9", MINI, "--policies", FIXTURES)
    assert code == 2 and "no version of 'mini' named '9.9.9'" in err and "known: 1.0.0" in err


def test_explain_names_an_unknown_bundle_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    request = str(ROOT / "docs/examples/ouder-leest-groeicurve.json")
    code, _, err = run(capsys, "explain", request, "--bundle", "nl-jzg")
    assert code == 2
    assert "no bundle named 'nl-jzg'" in err and "known: " in err and "nl-jgz" in err
    assert "did you mean 'nl-jgz'?" in err and "expected no bundle" not in err


def test_did_you_mean_only_for_near_misses() -> None:
    assert did_you_mean("nl-jzg", ["nl-jgz", "nl-jeugdhulp"]) == "; did you mean 'nl-jgz'?"
    assert did_you_mean("zorg", ["nl-jgz", "nl-jeugdhulp"]) == ""
    assert unknown("bundle", "x", []) == "no bundle named 'x'; known: none"


def test_the_dev_key_warning_prints_once_whatever_the_workers(tmp_path: Path) -> None:
    """serve warns in the parent, before the workers start; the workers do not repeat it."""
    import support

    from poortwachter.artifacts import embedded

    env = {"POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=nl-jgz,jeugdhulp=nl-jeugdhulp"}
    with support.serve(tmp_path, embedded.bundle_dir(), workers=2, env=env) as server:
        assert support.wait_until(lambda: len(server.worker_pids()) == 2, timeout=30)
    assert server.text().count("the DEV signing key is trusted") == 1, server.text()
