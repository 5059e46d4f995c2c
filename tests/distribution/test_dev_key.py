"""The DEV key's private half is in the repository: outside the embedded default bundles, what it signed is
refused (the attack first), unless ``trust_dev_key`` says this is development."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import wait_until

from poortwachter.artifacts.embedded import key_dir
from poortwachter.artifacts.keys import dev_fingerprint, fingerprint, load_keyring
from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.settings import Settings

from .conftest import DEV_KEY, ROOT, Keys, Registry, artifact
from .test_pull import publish


def _app(**values: Any) -> TestClient:
    settings = Settings(**{"dossier_type_bundles": {"jgz": "svc-jgz"}, "max_clock_skew": 0, "reload": "off",
                           "decision_log": "off", **values})
    return TestClient(create_app(settings, decision_log=DecisionLog(MemoryOutput())), raise_server_exceptions=False)


def test_an_artifact_signed_with_the_dev_key_in_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    artifact(tmp_path, "2026.1.0", DEV_KEY, "dev-signing").rename(folder / "svc-jgz-2026.1.0.bundle.json")
    with _app(bundles=folder) as client:  # default keys: the DEV key's folder
        r = client.get("/readyz")
        assert r.status_code == 503
        assert "the DEV key" in r.json()["detail"] and "trust_dev_key" in r.json()["detail"]
        assert r.json()["bundles"]["key_problems"] == {"key dev-signing": r.json()["bundles"]["key_problems"][
            "key dev-signing"]}
    # the DEV key copied under a production-looking name is the DEV key all the same
    keys = tmp_path / "keys"
    keys.mkdir()
    shutil.copy(key_dir() / "dev-signing.pub", keys / "prod-2026.pub")
    signed = artifact(tmp_path / "renamed", "2026.1.0", DEV_KEY, "prod-2026")
    shutil.copy(signed, folder / "svc-jgz-2026.1.0.bundle.json")
    with _app(bundles=folder, keys=[keys]) as client:
        assert client.get("/readyz").status_code == 503
        assert "key prod-2026" in client.get("/readyz").json()["bundles"]["key_problems"]
    with _app(bundles=folder, keys=[keys], trust_dev_key=True) as client:  # development, on purpose
        assert client.get("/readyz").status_code == 200


def test_an_artifact_signed_with_the_dev_key_in_a_registry_is_refused(registry: Registry, tmp_path: Path,
                                                                      prod_keys: Keys, serve_source: Any) -> None:
    ref = registry.ref("pw/bundles", "prod")
    publish(artifact(tmp_path, "2026.1.0", DEV_KEY, "dev-signing"), to=ref)
    with serve_source(ref, keys=[key_dir(), prod_keys.folder]) as app:
        assert wait_until(lambda: app.source()["last_error_cause"] == "verification", timeout=10), app.source()
        assert "not among the trusted keys" in app.source()["last_error"]
        assert not app.ready()
        assert "the DEV key" in app.client.get("/readyz").json()["detail"]


def test_the_embedded_default_still_serves_with_the_dev_key_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="poortwachter.service"), _app(
            dossier_type_bundles={"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp"}) as client:
        assert client.get("/readyz").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if "DEV signing key" in r.getMessage()]
    assert len(warnings) == 1 and "embedded default bundles" in warnings[0]


def test_the_dev_key_is_recognised_without_its_file() -> None:
    assert dev_fingerprint() == fingerprint(load_keyring(ROOT / "keys")["dev-signing"])


def test_the_container_image_does_not_trust_the_dev_key() -> None:
    """The image removes the DEV public key it installed and trusts only the keys mounted at POORTWACHTER_KEYS."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "rm -f /opt/poortwachter/lib/python3*/site-packages/poortwachter/_embedded/keys/dev-signing.pub" in dockerfile
    assert "POORTWACHTER_KEYS=/etc/poortwachter/keys" in dockerfile
    assert "TRUST_DEV_KEY" not in dockerfile
