"""The README's first screen stays true: its commands exist and its curl call is the tested one."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _block(text: str, after: str) -> str:
    match = re.search(re.escape(after) + r".*?```sh\n(.*?)```", text, re.DOTALL)
    assert match, f"no sh block after {after!r}"
    return match.group(1)


def test_first_screen_names_the_serve_and_test_commands_and_they_exist() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:25])
    for script in ("./scripts/serve", "./scripts/test"):
        assert script in first_screen
        assert os.access(ROOT / script, os.X_OK)


def test_ci_runs_the_readme_test_command() -> None:
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_curl_is_the_one_tests_service_test_serve_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    service = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    assert _block(readme, "Then ask a decision") == _block(service, "<!-- snippet:curl -->")


def test_the_readme_explain_example_runs() -> None:
    """The authoring block's explain line is a command that works as written (not a placeholder)."""
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if " explain " in x and x.startswith(".venv"))
    command = line.split("#", 1)[0].split()
    command[0] = str(Path(sys.executable).parent / "poortwachter")
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.startswith("ALLOW by nl-jgz@2026.1.0") and "jgz.inzage.gezag-onder-12" in out
