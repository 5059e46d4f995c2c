"""Coverage gate on the pure core: the quick core tests (not the property suites) run under coverage in a
child process and must cover at least ``fail_under`` of ``poortwachter.core`` ([tool.coverage] in
pyproject.toml). By hand: ``.venv/bin/python -m coverage run -m pytest tests/core && .venv/bin/python -m
coverage report``."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOW = ("tests/core/test_properties.py", "tests/core/test_routing_properties.py",  # hypothesis: minutes under coverage
        "tests/core/test_fast_readers.py")  # thousands of examples: the fast paths they check are covered by the rest


def test_the_core_tests_cover_the_core(tmp_path: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["coverage"]
    assert config["run"]["source"] == ["poortwachter.core"] and config["report"]["fail_under"] >= 85
    data = f"--data-file={tmp_path / 'coverage'}"
    run = subprocess.run([sys.executable, "-m", "coverage", "run", data, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/core", *(f"--ignore={s}" for s in SLOW)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = subprocess.run([sys.executable, "-m", "coverage", "report", data], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    total = re.search(r"^TOTAL\s.*?(\d+)%$", report.stdout, re.MULTILINE)
    assert total, report.stdout + report.stderr
    assert report.returncode == 0, (f"core coverage {total.group(1)}% is below the gate "
                                    f"{config['report']['fail_under']}%:\n{report.stdout}")
