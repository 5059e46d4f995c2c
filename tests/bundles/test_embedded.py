"""The embedded default bundles (bundles/) are signed, load, and match their policy folders exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from poortwachter.artifacts import embedded
from poortwachter.artifacts.artifact import SUFFIX, canonical, verify
from poortwachter.artifacts.directory import load_directory
from poortwachter.artifacts.folder import read_content
from poortwachter.artifacts.keys import load_keyring
from poortwachter.core.policy.source import to_plain

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = sorted(p.parent for p in (ROOT / "policies").glob("*/bundle.yaml"))


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_every_embedded_artifact_loads_with_the_dev_key() -> None:
    result = load_directory(embedded.bundle_dir(), load_keyring(embedded.key_dir()))
    assert result.errors == {}
    assert len(result.manifests) == len(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_artifact_is_current(folder: Path) -> None:
    """Rebuild with scripts/build-bundles when this fails: the folder changed after the last build."""
    digest = hashlib.sha256(canonical(to_plain(read_content(folder.relative_to(ROOT))))).hexdigest()
    keyring = load_keyring(embedded.key_dir())
    built = {verify(p.read_bytes(), keyring, p.name)[0].sha256: p.name
             for p in embedded.bundle_dir().glob(f"*{SUFFIX}")}
    assert digest in built, f"no artifact in bundles/ matches {folder.name}: run scripts/build-bundles"
