"""Every command the README shows runs as written (a person copies them), with what it promises.

The first screen's two scripts: ``./scripts/test`` is what runs this test (running it here would recurse),
``./scripts/serve`` runs ``poortwachter serve`` after setup (setup is not run here: it would reinstall the
package under the other tests' feet), so its port option is checked on ``poortwachter serve`` itself and the
quick start's curl call by tests/service/test_serve.py. Every line of the authoring block runs in bash from
the repository root, ``~`` a fresh folder; the rebuild line runs in a copy, since it rewrites files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import support

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV = Path(sys.executable).parent.parent  # the environment running the tests: what .venv is in a checkout


def _block(text: str, after: str) -> str:
    match = re.search(re.escape(after) + r".*?```sh\n(.*?)```", text, re.DOTALL)
    assert match, f"no sh block after {after!r}"
    return match.group(1)


def _commands(block: str) -> list[str]:
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


AUTHORING = _commands(_block(README, "## For policy authors"))
REBUILD = next(c for c in AUTHORING if c.startswith("./scripts/build-bundles"))


def _run(command: str, cwd: Path, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _visible(folder: Path) -> set[str]:
    """The entries of ``folder`` but the dot ones (caches other tests may create meanwhile)."""
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


def _in_checkout(command: str) -> str:
    """The command with ``.venv/bin`` meaning the environment running the tests (CI: the checkout's .venv)."""
    return command.replace(".venv/bin/", f"{VENV}/bin/")


def test_first_screen_names_the_serve_and_test_commands_and_they_exist() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    for script in ("./scripts/serve", "./scripts/test"):
        assert script in first_screen
        assert os.access(ROOT / script, os.X_OK)
    assert 'poortwachter serve "$@"' in (ROOT / "scripts" / "serve").read_text()  # so --port reaches serve


def test_ci_runs_the_readme_test_command() -> None:
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_curl_is_the_one_tests_service_test_serve_runs() -> None:
    service = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    assert _block(README, "Then ask a decision") == _block(service, "<!-- snippet:curl -->")


@pytest.mark.parametrize("how", ["--port", "POORTWACHTER_PORT"])
def test_the_readme_port_option_moves_the_server(how: str, tmp_path: Path) -> None:
    """``./scripts/serve --port N`` and ``POORTWACHTER_PORT=N``, as the README says (N a free port here)."""
    assert "./scripts/serve --port 8282" in README and "POORTWACHTER_PORT=8282 ./scripts/serve" in README
    port = support.free_port()
    argv = [str(VENV / "bin" / "poortwachter"), "serve"] + (["--port", str(port)] if how == "--port" else [])
    env = {**os.environ, "POORTWACHTER_RELOAD": "off", "POORTWACHTER_STATE_DIR": str(tmp_path / "state"),
           **({"POORTWACHTER_PORT": str(port)} if how != "--port" else {})}
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    try:
        support.await_ready(proc, f"http://127.0.0.1:{port}/readyz", errors)
        assert f"serving on http://127.0.0.1:{port}" in errors.read_text()
    finally:
        proc.kill()
        proc.wait(30)


EXPECT = {  # command → (exit code, what its output must hold, what its files must hold)
    "validate": (0, "nl-jgz@2026.1.0"),
    "test": (0, "passed"),
    "explain": (0, "ALLOW by nl-jgz@2026.1.0"),
    "diff": (1, "regions change"),  # 1: the versions differ
    "table": (0, "wrote"),
    "lint": (0, "source-texts-unchecked"),  # says plainly that no source texts were given
    "matrix": (0, "wrote"),
}


@pytest.mark.parametrize("command", [c for c in AUTHORING if c != REBUILD],
                         ids=[c.split()[1] for c in AUTHORING if c != REBUILD])
def test_every_authoring_command_runs_as_written(command: str, tmp_path: Path) -> None:
    verb = command.split()[1]
    before = _visible(ROOT)
    done = _run(_in_checkout(command), ROOT, tmp_path)
    code, words = EXPECT[verb]
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]
    assert words in done.stdout + done.stderr, done.stdout[-2000:] + done.stderr[-2000:]
    assert _visible(ROOT) == before  # nothing written into the repository
    if verb == "explain":
        assert "jgz.inzage.gezag-onder-12" in done.stdout
    elif verb == "diff":  # the summary, not the megabyte of regions (--full)
        assert len(done.stdout.splitlines()) < 200 and "nl-jgz@2020.1.0 → nl-jgz@2026.1.0" in done.stdout
    elif verb == "table":
        assert (tmp_path / "nl-jgz.csv").read_text(encoding="utf-8").count("\n") > 100
    elif verb == "matrix":
        assert (tmp_path / "nl-jgz.html").read_text(encoding="utf-8").count('class="seg') > 100


def _content(artifact: Path) -> dict[str, object]:
    """An artifact without what depends on where it was built (the git revision) and so its signature."""
    doc = json.loads(artifact.read_text(encoding="utf-8"))
    doc.pop("signature")
    doc["manifest"].pop("source_revision")
    return dict(doc)


def test_the_rebuild_line_runs_and_changes_nothing_in_a_current_checkout(tmp_path: Path) -> None:
    """``./scripts/build-bundles && poortwachter reference`` in a copy of the checkout: same artifacts (up to
    the revision they name), signatures that verify, and the same rule references."""
    copy = tmp_path / "checkout"
    for part in ("scripts", "policies", "keys", "bundles", "docs/reference"):
        shutil.copytree(ROOT / part, copy / part)
    (copy / ".venv").symlink_to(VENV)
    done = _run(REBUILD, copy, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    built = sorted(p.name for p in (copy / "bundles").glob("*.bundle.json"))
    assert built == sorted(p.name for p in (ROOT / "bundles").glob("*.bundle.json"))
    for name in built:
        assert _content(copy / "bundles" / name) == _content(ROOT / "bundles" / name), name
    from poortwachter.artifacts.directory import load_directory
    from poortwachter.artifacts.keys import load_keyring

    assert not load_directory(copy / "bundles", load_keyring(copy / "keys")).errors
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        assert (copy / "docs" / "reference" / page.name).read_text(encoding="utf-8") == page.read_text(encoding="utf-8")


def test_the_benchmark_command_exists() -> None:
    """``python -m bench.run`` runs minutes of benchmarks (its smoke test is tests/bench); here: it starts."""
    assert "`.venv/bin/python -m bench.run`" in README
    done = subprocess.run([sys.executable, "-m", "bench.run", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr[-2000:]
