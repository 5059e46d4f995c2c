"""Bundle store: verification, atomic switch, hot reload (good and bad bundles), admin calls, readiness."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import wait_until

from poortwachter.artifacts.keys import load_keyring
from poortwachter.service.store import BundleStore

from .conftest import ADMIN_TOKEN, DEV_KEY, FIXTURES, ROOT, Harness, build_artifact, yc_request

KEYS = ROOT / "keys"


def _variant(tmp: Path, *, rules: str | None = None, version: str = "2026.1.0", name: str = "svc-jgz") -> Path:
    """A copy of the svc-jgz fixture folder, optionally with other rules or version."""
    folder = tmp / f"src-{name}-{version}-{abs(hash(rules)) % 10_000}"
    shutil.copytree(FIXTURES / "policies" / "svc-jgz", folder)
    manifest = (folder / "bundle.yaml").read_text().replace("version: 2026.1.0", f"version: {version}")
    (folder / "bundle.yaml").write_text(manifest.replace("name: svc-jgz", f"name: {name}"))
    if rules is not None:
        (folder / "rules" / "rules.yaml").write_text(rules)
    return folder


DENY_ALL = """
- id: nothing
  effect: deny
  actions: [any]
  reason: {nl: "Niets.", en: "Nothing."}
  basis: ["test"]
  source: ["test:1"]
"""


def _tamper(path: Path) -> None:
    doc = orjson.loads(path.read_bytes())
    doc["content"]["manifest"][1]["description"] = "changed after signing"
    path.write_bytes(orjson.dumps(doc))


def _unsign(path: Path) -> None:
    doc = orjson.loads(path.read_bytes())
    doc["signature"] = ""
    path.write_bytes(orjson.dumps(doc))


def _decide(h: Harness, **kw: Any) -> dict[str, Any]:
    r = h.post("/access/v1/evaluation", yc_request(**kw))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _wait(predicate: Any, timeout: float = 10.0) -> bool:
    return wait_until(predicate, timeout)


def test_store_refuses_tampered_unsigned_and_unknown_key_artifacts(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    for name, how in (("t", _tamper), ("u", _unsign)):
        target = folder / f"svc-jgz-{name}.bundle.json"
        shutil.copy(artifacts["svc-jgz-2026"], target)
        how(target)
    (folder / "junk.bundle.json").write_text("not json")
    store = BundleStore(folder, {}, None, "svc-jgz")  # no trusted keys at all
    report = store.reload()
    assert set(report.refused) == {"svc-jgz-t.bundle.json", "svc-jgz-u.bundle.json", "junk.bundle.json"}
    assert not store.ready and store.snapshot.active == {}
    store = BundleStore(folder, load_keyring(KEYS), None, "svc-jgz")
    report = store.reload()
    assert "differs from the signed manifest" in report.refused["svc-jgz-t.bundle.json"]
    assert "unsigned" in report.refused["svc-jgz-u.bundle.json"]
    assert not store.ready


def test_hot_reload_switches_to_a_good_bundle_and_keeps_it_over_a_bad_one(
        make_harness: Any, bundle_dir: Path, tmp_path: Path) -> None:
    with make_harness(reload="watch") as h:
        assert _decide(h)["decision"] is True
        generation = h.svc.store.snapshot.generation
        good = build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "good")
        target = bundle_dir / "svc-jgz-2026.1.0.bundle.json"
        shutil.copy(good, target)  # the same name@version, new content: a new revision
        assert _wait(lambda: h.svc.store.snapshot.generation > generation), "reload did not happen"
        body = _decide(h)
        assert body["decision"] is False and body["context"]["reasons"][0]["rule"] == "nothing"
        good_revision = body["context"]["bundle"]["revision"]
        generation = h.svc.store.snapshot.generation

        _tamper(target)  # a bad bundle replaces the file
        assert _wait(lambda: "svc-jgz-2026.1.0.bundle.json" in h.svc.store.refused), "bad file not reported"
        assert h.svc.store.snapshot.generation == generation
        body = _decide(h)
        assert body["context"]["bundle"]["revision"] == good_revision  # the good one stays active
        listing = h.client.get("/v1/bundles").json()
        assert "differs from the signed manifest" in listing["refused"]["svc-jgz-2026.1.0.bundle.json"]
        detail = h.client.get("/v1/bundles/svc-jgz").json()
        assert detail["last_error"]["file"] == "svc-jgz-2026.1.0.bundle.json"
        assert h.client.get("/readyz").status_code == 200


def test_polling_reload_sees_a_new_version(make_harness: Any, bundle_dir: Path, tmp_path: Path) -> None:
    with make_harness(reload="poll", poll_interval=0.1) as h:
        newer = build_artifact(_variant(tmp_path, version="2026.2.0"), tmp_path / "newer")
        shutil.copy(newer, bundle_dir / newer.name)
        assert _wait(lambda: "2026.2.0" in h.client.get("/v1/bundles/svc-jgz").json()["active"])
        assert _decide(h)["context"]["bundle"]["version"] == "2026.2.0"


def test_admin_reload_refused_file_is_reported_and_active_set_kept(harness: Harness, bundle_dir: Path) -> None:
    before = _decide(harness)["context"]["bundle"]["revision"]
    _unsign(bundle_dir / "svc-jgz-2026.1.0.bundle.json")
    r = harness.admin("/v1/bundles/reload")
    assert r.status_code == 200
    report = r.json()
    assert "unsigned artifact refused" in report["refused"]["svc-jgz-2026.1.0.bundle.json"]
    assert report["changed"] == [] and report["kept"]
    assert _decide(harness)["context"]["bundle"]["revision"] == before


def test_emptied_folder_keeps_the_active_bundles(harness: Harness, bundle_dir: Path) -> None:
    for p in bundle_dir.iterdir():
        p.unlink()
    report = harness.admin("/v1/bundles/reload").json()
    assert report["changed"] == [] and report["kept"]
    assert _decide(harness)["decision"] is True


def test_removing_one_version_retires_it(harness: Harness, bundle_dir: Path) -> None:
    (bundle_dir / "svc-jgz-2025.1.0.bundle.json").unlink()
    assert harness.admin("/v1/bundles/reload").json()["changed"] == ["svc-jgz"]
    assert harness.client.get("/v1/bundles/svc-jgz").json()["active"] == ["2026.1.0"]


def test_rollback_and_activate(harness: Harness, bundle_dir: Path, tmp_path: Path) -> None:
    original = _decide(harness)["context"]["bundle"]["revision"]
    r = harness.admin("/v1/bundles/svc-jgz/rollback")
    assert r.status_code == 409  # nothing earlier yet
    shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "x"),
                bundle_dir / "svc-jgz-2026.1.0.bundle.json")
    harness.admin("/v1/bundles/reload")
    broken = _decide(harness)
    assert broken["decision"] is False
    r = harness.admin("/v1/bundles/svc-jgz/rollback")
    assert r.status_code == 200 and r.json()["changed"] == ["svc-jgz"]
    assert _decide(harness)["context"]["bundle"]["revision"] == original
    detail = harness.client.get("/v1/bundles/svc-jgz").json()
    assert detail["held"]["reason"] == "rollback"
    # a reload with the same (bad) folder keeps the rollback
    harness.admin("/v1/bundles/reload")
    assert _decide(harness)["context"]["bundle"]["revision"] == original
    # activate the newer revision explicitly, then release the hold
    bad_revision = broken["context"]["bundle"]["revision"]
    r = harness.admin("/v1/bundles/svc-jgz/activate", {"revision": bad_revision})
    assert r.status_code == 200
    assert _decide(harness)["context"]["bundle"]["revision"] == bad_revision
    r = harness.admin("/v1/bundles/svc-jgz/activate", {"version": "2026.1.0"})
    assert r.status_code == 200
    r = harness.admin("/v1/bundles/svc-jgz/activate", {"version": "9.9.9"})
    assert r.status_code == 409
    r = harness.admin("/v1/bundles/svc-jgz/activate")
    assert r.status_code == 200
    assert harness.client.get("/v1/bundles/svc-jgz").json()["held"] is None
    assert _decide(harness)["context"]["bundle"]["revision"] == bad_revision


def test_a_new_artifact_releases_a_hold(harness: Harness, bundle_dir: Path, tmp_path: Path) -> None:
    original = _decide(harness)["context"]["bundle"]["revision"]
    target = bundle_dir / "svc-jgz-2026.1.0.bundle.json"
    shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "bad"), target)
    harness.admin("/v1/bundles/reload")
    harness.admin("/v1/bundles/svc-jgz/rollback")
    assert _decide(harness)["context"]["bundle"]["revision"] == original
    fixed = build_artifact(_variant(tmp_path, rules=DENY_ALL.replace("Nothing.", "Nothing at all.")), tmp_path / "fix")
    shutil.copy(fixed, target)
    harness.admin("/v1/bundles/reload")
    assert _decide(harness)["context"]["reasons"][0]["text"]["en"] == "Nothing at all."
    assert harness.client.get("/v1/bundles/svc-jgz").json()["held"] is None


def test_admin_state_is_shared_through_the_state_folder(bundle_dir: Path, tmp_path: Path) -> None:
    """Two stores (two workers) over one state folder: a rollback in one reaches the other."""
    keyring = load_keyring(KEYS)
    state = tmp_path / "state"
    a, b = BundleStore(bundle_dir, keyring, state, "svc-jgz"), BundleStore(bundle_dir, keyring, state, "svc-jgz")
    a.reload(), b.reload()
    original = a.snapshot.active["svc-jgz"][-1].revision
    shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "bad"),
                bundle_dir / "svc-jgz-2026.1.0.bundle.json")
    a.reload(), b.reload()
    a.rollback("svc-jgz")
    b.reload()  # what the watcher does when holds.json changes
    assert b.snapshot.active["svc-jgz"][-1].revision == original
    fresh = BundleStore(bundle_dir, keyring, state, ["svc-jgz"])  # a restarted worker
    fresh.reload()
    assert fresh.snapshot.active["svc-jgz"][-1].revision == original


def test_bundle_listing_and_detail(harness: Harness) -> None:
    listing = harness.client.get("/v1/bundles").json()
    assert listing["dossier_type_bundles"] == {"jgz": "svc-jgz"} and listing["generation"] >= 1
    names = {b["name"]: b for b in listing["bundles"]}
    assert names["svc-jgz"]["active"] == ["2025.1.0", "2026.1.0"] and names["svc-jgz"]["in_force"] == "2026.1.0"
    detail = harness.client.get("/v1/bundles/svc-jgz").json()
    v = {x["version"]: x for x in detail["versions"]}
    assert v["2026.1.0"]["in_force"] and v["2026.1.0"]["active"] and not v["2025.1.0"]["in_force"]
    assert v["2026.1.0"]["revision"] == "sha256:" + v["2026.1.0"]["sha256"]
    assert v["2026.1.0"]["effective_from"] == "2026-01-01" and v["2026.1.0"]["key_id"] == "dev-signing"
    r = harness.client.get("/v1/bundles/nope")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "name"
    assert harness.admin("/v1/bundles/nope/rollback").status_code == 404


def test_readiness_needs_every_routed_bundle(make_harness: Any, tmp_path: Path) -> None:
    with make_harness(bundles=tmp_path / "empty") as h:
        assert h.client.get("/healthz").json() == {"status": "ok"}
        r = h.client.get("/readyz")
        assert r.status_code == 503 and "no valid bundle" in r.json()["detail"]
    with make_harness(dossier_type_bundles={"jgz": "svc-jgz", "jeugdhulp": "nl-elders"}) as h:
        r = h.client.get("/readyz")
        assert r.status_code == 503 and "nl-elders" in r.json()["detail"]
    with make_harness() as h:
        assert h.client.get("/readyz").json()["status"] == "ready"


@pytest.mark.parametrize("path", ["/v1/bundles/reload", "/v1/bundles/svc-jgz/rollback", "/v1/bundles/svc-jgz/activate"])
def test_admin_calls_need_the_admin_token(harness: Harness, path: str) -> None:
    assert harness.client.post(path).status_code == 401
    assert harness.client.post(path, headers={"Authorization": "Bearer wrong-token-123456789"}).status_code == 403
    assert harness.client.post(path, headers={"Authorization": f"Basic {ADMIN_TOKEN}"}).status_code == 401


def test_activate_body_is_validated(harness: Harness) -> None:
    r = harness.admin("/v1/bundles/svc-jgz/activate", {"version": 2026})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "request.version"
    assert DEV_KEY.exists()


# ------------------------------------------------------------------ issue 17: one set for every worker


def _revset(store: BundleStore) -> dict[str, tuple[str, ...]]:
    return {n: tuple(x.revision for x in v) for n, v in store.snapshot.active.items()}


def _store(bundle_dir: Path, state: Path | None, **kw: Any) -> BundleStore:
    store = BundleStore(bundle_dir, load_keyring(KEYS), state, "svc-jgz", **kw)
    store.reload()
    return store


def test_a_restarted_worker_activates_the_last_good_version_of_a_corrupt_file(bundle_dir: Path, tmp_path: Path) -> None:
    """A corrupt file over an active artifact: the surviving worker keeps it, and so must a restarted one."""
    state = tmp_path / "state"
    survivor = _store(bundle_dir, state)
    before = _revset(survivor)
    _tamper(bundle_dir / "svc-jgz-2026.1.0.bundle.json")
    survivor.reload()
    assert _revset(survivor) == before
    restarted = _store(bundle_dir, state)
    assert _revset(restarted) == before
    assert "svc-jgz-2026.1.0.bundle.json" in restarted.refused
    assert restarted.health()["revision_set"] == survivor.health()["revision_set"]


def test_a_worker_that_missed_a_good_version_follows_the_shared_last_good_one(bundle_dir: Path, tmp_path: Path) -> None:
    """Worker a loads a new good artifact; it is corrupted before worker b reloads: b must not keep the older one."""
    state = tmp_path / "state"
    a, b = _store(bundle_dir, state), _store(bundle_dir, state)
    target = bundle_dir / "svc-jgz-2026.1.0.bundle.json"
    shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "new"), target)
    a.reload()
    _tamper(target)
    b.reload(), a.reload()
    assert _revset(a) == _revset(b)
    assert a.health()["revision_set"] == b.health()["revision_set"]


def test_an_older_copy_of_the_folder_put_back_decides_again(bundle_dir: Path, tmp_path: Path) -> None:
    """The last-good record follows what the files hold now, not which file is newest: a folder restored from
    an older copy (older file times) is what the workers activate."""
    older = tmp_path / "older"
    shutil.copytree(bundle_dir, older)
    store = _store(bundle_dir, tmp_path / "state")
    original = _revset(store)
    shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "new"),
                bundle_dir / "svc-jgz-2026.1.0.bundle.json")
    assert store.reload().changed == ["svc-jgz"]
    shutil.rmtree(bundle_dir)
    older.rename(bundle_dir)
    store.reload()
    assert _revset(store) == original
    assert _revset(_store(bundle_dir, tmp_path / "state")) == original  # and a worker started now


def test_a_worker_started_while_the_folder_is_missing_activates_the_last_good_set(bundle_dir: Path,
                                                                                  tmp_path: Path) -> None:
    state = tmp_path / "state"
    running = _store(bundle_dir, state)
    bundle_dir.rename(tmp_path / "away")
    running.reload()
    started = _store(bundle_dir, state)
    assert _revset(started) == _revset(running) and started.ready
    assert str(bundle_dir) in started.refused  # and it says why


def test_snapshot_is_immutable(bundle_dir: Path) -> None:
    store = _store(bundle_dir, None)
    snap = store.snapshot
    with pytest.raises(TypeError):
        snap.active["x"] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        snap.generation = 9  # type: ignore[misc]


# ------------------------------------------------------------------ issue 17: a removed key revokes


def _keys(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    shutil.copy(KEYS / "dev-signing.pub", keys / "dev-signing.pub")
    return keys


def _signed_with_second_key(tmp_path: Path, keys: Path, bundle_dir: Path) -> Path:
    """svc-jgz 2027.1.0 signed with key 'second', whose public half is in ``keys``."""
    from poortwachter.artifacts.artifact import build
    from poortwachter.artifacts.folder import load_folder
    from poortwachter.artifacts.keys import generate, load_private

    generate(tmp_path / "second.key", keys / "second.pub")
    bundle, _, content = load_folder(_variant(tmp_path, version="2027.1.0"))
    return build(bundle, content, load_private(tmp_path / "second.key"), "second", "test", bundle_dir)


def _metric(h: Harness, metric: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(h.client.get("/metrics").text):
        for s in family.samples:
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def test_removing_a_key_and_reloading_deactivates_what_it_signed(make_harness: Any, bundle_dir: Path,
                                                                 tmp_path: Path) -> None:
    keys = _keys(tmp_path)
    _signed_with_second_key(tmp_path, keys, bundle_dir)
    with make_harness(keys=[keys]) as h:
        assert h.client.get("/v1/bundles/svc-jgz").json()["active"] == ["2025.1.0", "2026.1.0", "2027.1.0"]
        revoked = _metric(h, "poortwachter_bundle_revoked_total", bundle="svc-jgz", version="2027.1.0")
        (keys / "second.pub").unlink()
        report = h.admin("/v1/bundles/reload").json()
        assert "not among the trusted keys" in report["refused"]["svc-jgz-2027.1.0.bundle.json"]
        assert report["changed"] == ["svc-jgz"] and report["kept"] == []
        assert h.client.get("/v1/bundles/svc-jgz").json()["active"] == ["2025.1.0", "2026.1.0"]
        assert _metric(h, "poortwachter_bundle_revoked_total", bundle="svc-jgz", version="2027.1.0") == revoked + 1
        assert h.client.get("/readyz").status_code == 200


def test_removing_the_only_key_fails_closed_and_readiness_says_why(make_harness: Any, tmp_path: Path) -> None:
    keys = _keys(tmp_path)
    with make_harness(keys=[keys]) as h:
        assert _decide(h)["decision"] is True
        (keys / "dev-signing.pub").unlink()
        report = h.admin("/v1/bundles/reload").json()
        assert report["kept"] == []  # an emptied store is not 'kept': revocation wins
        assert h.svc.store.snapshot.active == {}
        r = h.client.get("/readyz")
        assert r.status_code == 503
        assert "svc-jgz" in r.json()["detail"] and "dev-signing" in r.json()["detail"]
        r = h.post("/access/v1/evaluation", yc_request())
        assert r.status_code == 503 and r.json()["type"].endswith("/no-bundle-loaded")  # never an allow


def test_the_watcher_notices_a_removed_key(make_harness: Any, tmp_path: Path) -> None:
    keys = _keys(tmp_path)
    with make_harness(keys=[keys], reload="watch") as h:
        assert h.client.get("/readyz").status_code == 200
        assert _wait(lambda: h.svc.store.watching is True), "the watcher did not start"
        (keys / "dev-signing.pub").unlink()
        # an inotify event normally within a second; the full resync (30 s) bounds a missed one, e.g. a removal
        # that lands while the watch is being set up on a loaded machine
        assert _wait(lambda: h.client.get("/readyz").status_code == 503, 40), "a removed key did not revoke"


# ------------------------------------------------------------------ issue 17: refused artifacts are visible


def test_refused_artifacts_show_in_bundles_readyz_and_a_gauge_while_present(harness: Harness,
                                                                           bundle_dir: Path) -> None:
    target = bundle_dir / "svc-jgz-2026.1.0.bundle.json"
    good = target.read_bytes()
    _tamper(target)
    harness.admin("/v1/bundles/reload")
    listing = harness.client.get("/v1/bundles").json()
    [refused] = listing["refused_artifacts"]
    assert refused["file"] == "svc-jgz-2026.1.0.bundle.json" and "signed manifest" in refused["reason"]
    since = refused["since"]
    ready = harness.client.get("/readyz")
    assert ready.status_code == 200  # the last good version still decides
    assert "svc-jgz-2026.1.0.bundle.json" in ready.json()["detail"]
    assert ready.json()["bundles"]["refused"][0]["since"] == since
    assert _metric(harness, "poortwachter_bundle_refused_artifacts") == 1
    harness.admin("/v1/bundles/reload")  # still there: still counted, since unchanged
    assert _metric(harness, "poortwachter_bundle_refused_artifacts") == 1
    assert harness.client.get("/v1/bundles").json()["refused_artifacts"][0]["since"] == since
    target.write_bytes(good)
    harness.admin("/v1/bundles/reload")
    assert _metric(harness, "poortwachter_bundle_refused_artifacts") == 0
    assert harness.client.get("/readyz").json()["bundles"]["refused"] == []


# ------------------------------------------------------------------ issue 17: the watcher never gives up


def test_the_watcher_survives_a_missing_folder_and_follows_it_when_restored(
        make_harness: Any, bundle_dir: Path, tmp_path: Path) -> None:
    away = tmp_path / "away"
    bundle_dir.rename(away)
    with make_harness(reload="watch") as h:  # started while the folder is missing
        assert h.client.get("/readyz").status_code == 503
        assert _wait(lambda: h.client.get("/readyz").json()["bundles"]["watching"] is False)
        assert _metric(h, "poortwachter_bundle_watcher_failing") == 1
        away.rename(bundle_dir)
        assert _wait(lambda: h.client.get("/readyz").status_code == 200), "the restored folder was not loaded"
        assert _wait(lambda: h.client.get("/readyz").json()["bundles"]["watching"] is True)
        assert _metric(h, "poortwachter_bundle_watcher_failing") == 0
        # removed and restored as a new folder: the watcher follows the new one
        before = _decide(h)["context"]["bundle"]["revision"]
        shutil.rmtree(bundle_dir)
        bundle_dir.mkdir()
        shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "new"),
                    bundle_dir / "svc-jgz-2026.1.0.bundle.json")
        assert _wait(lambda: _decide(h)["context"]["bundle"]["revision"] != before, 15), "the new folder is not watched"


def test_the_store_reads_time_from_the_clock_it_is_given(bundle_dir: Path, tmp_path: Path) -> None:
    """Load times, the snapshot's time and a refusal's 'since' come from the clock passed in (in UTC), not
    from the machine's."""
    from datetime import UTC, datetime, timedelta, timezone

    now = [datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=1)))]
    store = _store(bundle_dir, tmp_path / "state", clock=lambda: now[0])
    assert store.snapshot.loaded_at == datetime(2031, 3, 4, 4, 6, 7, tzinfo=UTC)
    assert {x.loaded_at for v in store.snapshot.active.values() for x in v} == {store.snapshot.loaded_at}
    now[0] += timedelta(days=1)
    (bundle_dir / "junk.bundle.json").write_text("not json")
    store.reload()
    assert [r["since"] for r in store.refused_artifacts()] == ["2031-03-05T04:06:07+00:00"]
