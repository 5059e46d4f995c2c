"""Bundle sets published to a real OCI registry (docker-registry) or a plain web server, pulled by the service.

Each test publishes with ``poortwachter publish`` (the CLI), then runs the service with ``bundle_source``
and watches what it decides with and what it says (/readyz, /v1/bundles, /metrics).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from support import wait_until

from poortwachter.artifacts.remote import SourceError, parse_location
from poortwachter.cli import main
from poortwachter.service.settings import SettingsError, load_settings

from .conftest import DENY_ALL, ROBOT, Keys, Registry, artifact


def publish(*paths: Path, to: str) -> str:
    assert main(["publish", *map(str, paths), "--to", to]) == 0
    return to


def revision_of(path: Path) -> str:
    return "sha256:" + orjson.loads(path.read_bytes())["manifest"]["sha256"]


def test_publish_to_a_registry_then_pull(registry: Registry, prod_keys: Keys, tmp_path: Path,
                                         serve_source: Any, capsys: pytest.CaptureFixture[str]) -> None:
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    publish(v1, to=registry.ref("poortwachter/bundles", "prod"))
    published = capsys.readouterr().out
    assert f"oci://{registry.host}/poortwachter/bundles@sha256:" in published
    with serve_source(registry.ref("poortwachter/bundles", "prod"), keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10), app.client.get("/readyz").text
        assert app.decide() == (True, revision_of(v1))
        source = app.source()
        assert source["digest"] in published and source["last_error"] is None and source["age_seconds"] < 5
        bundle = app.bundle()
        assert bundle["source"]["source"] == registry.ref("poortwachter/bundles", "prod")
        assert bundle["source"]["artifacts"]["2026.1.0"].startswith("sha256:")
        metrics = app.client.get("/metrics").text
        assert f'poortwachter_bundle_source_last_success_timestamp_seconds{{source="{source["source"]}"}}' in metrics
        assert f'poortwachter_bundle_source_info{{digest="{source["digest"]}",source="{source["source"]}"}} 1.0' in metrics

        v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
        publish(v2, to=registry.ref("poortwachter/bundles", "prod"))
        assert wait_until(lambda: app.decide() == (False, revision_of(v2)), timeout=10), app.source()


def test_a_pinned_digest_is_pulled(registry: Registry, prod_keys: Keys, tmp_path: Path, serve_source: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    publish(v1, to=registry.ref("pw/b", "x"))
    pinned = capsys.readouterr().out.split()[-1]
    with serve_source(pinned, keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10), app.client.get("/readyz").text
        assert app.decide()[1] == revision_of(v1)
        assert app.source()["digest"] == pinned.rpartition("@")[2]


def test_publish_to_a_folder_then_pull_over_http(web: tuple[str, Path], prod_keys: Keys, tmp_path: Path,
                                                 serve_source: Any) -> None:
    base, folder = web
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    publish(v1, to=str(folder))
    assert (folder / "index.json").is_file() and (folder / v1.name).is_file()
    with serve_source(f"{base}/index.json", keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10), app.client.get("/readyz").text
        assert app.decide() == (True, revision_of(v1))
        v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
        publish(v2, to=str(folder))
        assert wait_until(lambda: app.decide() == (False, revision_of(v2)), timeout=10), app.source()


def test_plain_http_is_refused_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="plain http is accepted on loopback only"):
        load_settings({"bundle_source": "http://bundles.example.nl/index.json", "state_dir": str(tmp_path)}, env={})
    assert parse_location("oci://registry.example.nl/pw/bundles:prod").base == "https://registry.example.nl"
    assert parse_location("oci://127.0.0.1:5000/pw/bundles:prod").base == "http://127.0.0.1:5000"
    with pytest.raises(SourceError, match="name a tag"):
        parse_location("oci://registry.example.nl/pw/bundles")
    with pytest.raises(SettingsError, match="needs state_dir"):
        load_settings({"bundle_source": "oci://127.0.0.1:5000/pw/b:prod"}, env={})


def _blob_file(registry: Registry, digest: str) -> Path:
    hexdigest = digest.removeprefix("sha256:")
    return registry.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def test_tampered_and_wrongly_signed_artifacts_are_refused_and_the_last_good_set_kept(
        registry: Registry, prod_keys: Keys, other_keys: Keys, tmp_path: Path, serve_source: Any) -> None:
    ref = registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    publish(v1, to=ref)
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10)
        good = app.decide()

        # content changed after signing, published properly (the digest matches the changed bytes)
        tampered = tmp_path / "tampered" / "svc-jgz-2026.2.0.bundle.json"
        tampered.parent.mkdir()
        doc = orjson.loads(artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id).read_bytes())
        doc["content"]["rules"][0][1] = orjson.loads(orjson.dumps([{"id": "x", "effect": "allow", "actions": ["any"],
                                                                   "reason": {"nl": "Alles.", "en": "All."},
                                                                   "basis": ["t"], "source": ["t:1"]}]))
        tampered.write_bytes(orjson.dumps(doc))
        publish(tampered, to=ref)
        assert wait_until(lambda: app.source()["last_error_cause"] == "verification", timeout=10), app.source()
        assert "content was changed after signing" in app.source()["last_error"]
        assert app.decide() == good and app.ready()
        assert "failing (verification)" in app.client.get("/readyz").json()["detail"]

        # signed by a key with the trusted key's id, but not the trusted key
        wrong = artifact(tmp_path, "2026.3.0", other_keys.private, other_keys.key_id)
        publish(wrong, to=ref)
        assert wait_until(lambda: "signature does not match" in (app.source()["last_error"] or ""), timeout=10)
        assert app.decide() == good
        errors = app.client.get("/metrics").text
        assert 'poortwachter_bundle_source_errors_total{cause="verification"}' in errors

        # a blob changed inside the registry's storage: the bytes no longer match their digest
        v4 = artifact(tmp_path, "2026.4.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
        publish(v4, to=ref)
        assert wait_until(lambda: app.decide()[0] is False, timeout=10)
        after = app.decide()
    blob = _blob_file(registry, "sha256:" + __import__("hashlib").sha256(v4.read_bytes()).hexdigest())
    raw = blob.read_bytes()
    blob.write_bytes(raw.replace(b'"Niets."', b'"Alles."'))
    # changed before the fresh service starts: its startup waits for the first poll, which must not get the set
    with serve_source(ref, keys=[prod_keys.folder], state_dir=tmp_path / "fresh-state") as fresh:
        assert wait_until(lambda: fresh.source()["last_error_cause"] == "digest", timeout=10), fresh.source()
        assert not fresh.ready()  # nothing was ever good here: nothing is served
        assert "do not match their listed digest" in fresh.client.get("/readyz").json()["detail"]
    assert after[1] == revision_of(v4)


def test_registry_down_at_start_serves_the_cached_set(registry: Registry, prod_keys: Keys, tmp_path: Path,
                                                       serve_source: Any) -> None:
    ref = registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    publish(v1, to=ref)
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10)
    registry.stop()
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert app.ready()  # before any poll answered: the set on disk
        assert app.decide() == (True, revision_of(v1))
        assert wait_until(lambda: app.source()["last_error_cause"] == "network", timeout=10), app.source()
        assert app.ready() and app.decide() == (True, revision_of(v1))


def test_registry_down_during_run_keeps_serving_and_says_so(registry: Registry, prod_keys: Keys, tmp_path: Path,
                                                             serve_source: Any, restart_registry: Any) -> None:
    ref = registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    publish(v1, to=ref)
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10)
        registry.stop()
        assert wait_until(lambda: app.source()["failures"] >= 2, timeout=10), app.source()
        status = app.client.get("/readyz")
        assert status.status_code == 200 and "failing (network)" in status.json()["detail"]
        assert app.bundle()["source"]["last_error_cause"] == "network"
        assert app.decide() == (True, revision_of(v1))
        again = restart_registry(registry)
        try:
            assert wait_until(lambda: app.source()["last_error"] is None, timeout=10), app.source()
        finally:
            again.stop()


def test_a_replayed_older_artifact_is_refused(registry: Registry, prod_keys: Keys, tmp_path: Path,
                                              serve_source: Any) -> None:
    ref = registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
    publish(v1, to=registry.ref("pw/bundles", "old"))
    publish(v2, to=ref)
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert wait_until(lambda: app.ready() and app.decide() == (False, revision_of(v2)), timeout=10)
        publish(v1, to=ref)  # the old signed set, replayed under the tag
        assert wait_until(lambda: app.source()["last_error_cause"] == "downgrade", timeout=10), app.source()
        assert "is older than svc-jgz@2026.2.0" in app.source()["last_error"]
        assert app.decide() == (False, revision_of(v2))
        # other bytes under a version already activated
        again = artifact(tmp_path / "again", "2026.2.0", prod_keys.private, prod_keys.key_id)
        publish(again, to=ref)
        assert wait_until(lambda: "under the same version" in (app.source()["last_error"] or ""), timeout=10)
        assert app.decide() == (False, revision_of(v2))
    # a restart does not forget what was activated
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert app.decide() == (False, revision_of(v2))
        publish(v1, to=ref)
        assert wait_until(lambda: app.source()["last_error_cause"] == "downgrade", timeout=10), app.source()


def test_an_admin_rolls_back_on_purpose(registry: Registry, prod_keys: Keys, tmp_path: Path,
                                        serve_source: Any) -> None:
    ref = registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
    publish(v1, to=ref)
    token = "admin-token-for-tests-0123456789"
    with serve_source(ref, keys=[prod_keys.folder], admin_token=token) as app:
        assert wait_until(lambda: app.ready() and app.decide()[1] == revision_of(v1), timeout=10)
        publish(v1, v2, to=ref)  # the next version beside the old one
        assert wait_until(lambda: app.decide() == (False, revision_of(v2)), timeout=10)
        r = app.client.post("/v1/bundles/svc-jgz/rollback", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        assert app.decide() == (True, revision_of(v1))
        assert app.bundle()["held"]["reason"] == "rollback"


def test_a_private_registry_with_credentials(private_registry: Registry, prod_keys: Keys, tmp_path: Path,
                                             serve_source: Any, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    ref = private_registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    assert main(["publish", str(v1), "--to", ref]) == 2  # anonymous: refused, and said so
    assert "HTTP 401" in capsys.readouterr().err
    monkeypatch.setenv("POORTWACHTER_PUBLISH_USERNAME", ROBOT[0])
    monkeypatch.setenv("POORTWACHTER_PUBLISH_PASSWORD", ROBOT[1])
    publish(v1, to=ref)
    with serve_source(ref, keys=[prod_keys.folder]) as app:  # the sidecar has no credentials
        assert wait_until(lambda: app.source()["last_error_cause"] == "http", timeout=10), app.source()
        assert "HTTP 401" in app.source()["last_error"] and not app.ready()
    monkeypatch.setenv("POORTWACHTER_BUNDLE_SOURCE_USERNAME", ROBOT[0])
    monkeypatch.setenv("POORTWACHTER_BUNDLE_SOURCE_PASSWORD", ROBOT[1])
    with serve_source(ref, keys=[prod_keys.folder]) as app:
        assert wait_until(app.ready, timeout=10), app.source()
        assert app.decide() == (True, revision_of(v1))
        shown = app.client.get("/readyz").text + app.client.get("/v1/bundles").text
        assert ROBOT[1] not in shown
