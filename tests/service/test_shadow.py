"""Shadow evaluation: a candidate bundle is compared with the active one on live traffic, answers never change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from support import free_port, wait_until

from poortwachter.artifacts.keys import load_keyring
from poortwachter.service.shadow import ShadowRunner
from poortwachter.service.store import BundleStore

from .conftest import ADMIN_TOKEN, FIXTURES, ROOT, Harness, MakeHarness, build_artifact, stop_server, yc_request

SHADOW = "/v1/bundles/svc-jgz/shadow"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

# a parent with gezag reads a gespreksverslag of a 10-year-old; of a 14-year-old; the 14-year-old herself
PARENT_10: dict[str, Any] = {"birthdate": "2016-05-30"}
PARENT_14: dict[str, Any] = {"birthdate": "2012-05-30"}
SELF_14: dict[str, Any] = {"birthdate": "2012-05-30", "relation": "self", "gezag": False, "subject_id": "c-1"}


def _candidate(tmp: Path, *, version: str, effective_from: str = "2026-01-01", thresholds: str = "[12, 16, 18]",
               change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = lambda rules: rules) -> Path:
    """An artifact of svc-jgz at ``version`` whose rules are ``change``d from the fixture's."""
    folder = tmp / f"src-{version}"
    shutil.copytree(FIXTURES / "policies" / "svc-jgz", folder)
    manifest = (folder / "bundle.yaml").read_text()
    manifest = manifest.replace("version: 2026.1.0", f"version: {version}")
    manifest = manifest.replace("age_thresholds: [12, 16, 18]", f"age_thresholds: {thresholds}")
    (folder / "bundle.yaml").write_text(manifest.replace("effective_from: 2026-01-01", f"effective_from: {effective_from}"))
    rules_file = folder / "rules" / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(change(yaml.safe_load(rules_file.read_text())), allow_unicode=True))
    return build_artifact(folder, tmp / f"built-{version}")


def _stricter(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents of 12–15 lose inzage; the young person's own inzage also informs her (an extra obligation)."""
    out = [r for r in rules if r["id"] != "parent-gezag-12-15"]
    for r in out:
        if r["id"] == "self-12-plus":
            r["obligations"] = [*r["obligations"], "inform_client"]
    return out


def _answer(h: Harness, **kw: Any) -> dict[str, Any]:
    r = h.post("/access/v1/evaluation", yc_request(**kw))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    body["context"].pop("decision_id")
    return body


def _report(h: Harness) -> dict[str, Any]:
    r = h.client.get(SHADOW, headers=AUTH)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _settled(h: Harness, n: int, timeout: float = 10.0) -> dict[str, Any]:
    """The report once ``n`` decisions were taken care of (compared, dropped, failed or skipped)."""
    def done(report: dict[str, Any]) -> int:
        return int(report["compared"] + report["dropped"] + report["errors"] + report["skipped"])

    wait_until(lambda: done(_report(h)) >= n, timeout, 0.02)
    report = _report(h)
    assert done(report) == n, report
    return report


def test_a_differing_candidate_is_reported_and_answers_do_not_change(
        harness: Harness, bundle_dir: Path, tmp_path: Path) -> None:
    # a next version, loaded beside the others but not in force until 2027
    shutil.copy(_candidate(tmp_path, version="2027.1.0", effective_from="2027-01-01", change=_stricter),
                bundle_dir / "svc-jgz-2027.1.0.bundle.json")
    assert harness.admin("/v1/bundles/reload").json()["changed"] == ["svc-jgz"]
    traffic = [PARENT_10, PARENT_14, SELF_14, PARENT_14]
    before = [_answer(harness, **kw) for kw in traffic]
    assert [a["decision"] for a in before] == [True, True, True, True]

    r = harness.admin(SHADOW, {"version": "2027.1.0"})
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["running"] and started["candidate"]["version"] == "2027.1.0" and started["compared"] == 0
    events = len(harness.sink.events)
    after = [_answer(harness, **kw) for kw in traffic]
    assert after == before  # the answers are the active bundle's, to the letter
    assert all(e.bundle.version == "2026.1.0" for e in harness.sink.events[events:])

    report = _settled(harness, len(traffic))
    assert (report["compared"], report["same"], report["different"]) == (4, 1, 3)
    assert report["by_kind"] == {"decision": 2, "rules": 0, "obligations": 1}
    top = report["changes"][0]
    assert top["count"] == 2 and top["kind"] == "decision"
    assert top["active"] == {"bundle": "svc-jgz@2026.1.0", "decision": True, "rules": ["parent-gezag-12-15"],
                             "obligations": ["log_access"]}
    assert top["candidate"] == {"bundle": "svc-jgz@2027.1.0", "decision": False, "rules": ["default-deny"],
                                "obligations": []}
    assert report["changes"][1]["kind"] == "obligations" and report["changes"][1]["count"] == 1
    assert report["changes"][1]["candidate"]["obligations"] == ["log_access", "inform_client"]
    newest = report["sample"][0]  # newest first: the second parent of a 14-year-old
    assert newest["kind"] == "decision" and newest["as_of"].startswith("2026-11-22")
    assert newest["facts"]["client.age"] == 14 and newest["facts"]["subject.relation"] == "ouder"
    assert newest["facts"]["action.name"] == "read" and "resource.confidential_from_parents" in newest["facts"]
    assert newest["candidate_facts"] == {}
    assert newest["decision_id"] in {e.decision_id for e in harness.sink.events}
    text = orjson.dumps(report).decode()
    assert "c-1" not in text and "p-1" not in text and "prof-7" not in text  # no ids of persons or clients

    metrics = harness.client.get("/metrics").text
    assert 'poortwachter_shadow_decisions_total{bundle="svc-jgz",result="different",version="2027.1.0"}' in metrics

    # stopping: the final report stays readable, further traffic is not compared
    r = harness.client.delete(SHADOW, headers=AUTH)
    assert r.status_code == 200 and r.json()["running"] is False and r.json()["different"] == 3
    _answer(harness, **PARENT_14)
    time.sleep(0.1)
    final = _report(harness)
    assert final["running"] is False and final["stopped"] and final["compared"] == 4
    assert harness.client.delete(SHADOW, headers=AUTH).status_code == 404


def test_a_candidate_equal_to_the_active_bundle_shows_no_differences(harness: Harness) -> None:
    r = harness.admin(SHADOW, {"version": "2026.1.0"})
    assert r.status_code == 200, r.text
    for kw in (PARENT_10, PARENT_14, SELF_14, {"action": "copy", "category": "ruwe_testgegevens"}):
        _answer(harness, **kw)
    batch = {"evaluations": [yc_request(**PARENT_10), yc_request(**PARENT_14)]}
    assert harness.post("/access/v1/evaluations", batch).status_code == 200
    report = _settled(harness, 6)
    assert (report["compared"], report["same"], report["different"]) == (6, 6, 0)
    assert report["changes"] == [] and report["sample"] == []


def test_a_candidate_artifact_file_in_a_subfolder(harness: Harness, bundle_dir: Path, tmp_path: Path) -> None:
    """The pre-activation workflow: the candidate waits in a subfolder reloads do not load."""
    (bundle_dir / "candidates").mkdir()
    built = _candidate(tmp_path, version="2026.1.0", change=_stricter)  # a fix of the version in force
    shutil.copy(built, bundle_dir / "candidates" / "svc-jgz-2026.1.0.bundle.json")
    harness.admin("/v1/bundles/reload")
    r = harness.admin(SHADOW, {"file": "candidates/svc-jgz-2026.1.0.bundle.json"})
    assert r.status_code == 200, r.text
    revision = r.json()["candidate"]["revision"]
    assert _answer(harness, **PARENT_14)["decision"] is True  # still the active artifact
    report = _settled(harness, 1)
    assert report["different"] == 1 and report["sample"][0]["candidate"]["bundle"] == "svc-jgz@2026.1.0"
    # satisfied: activate exactly that revision (the shadow had it verified and archived)
    assert harness.admin("/v1/bundles/svc-jgz/activate", {"revision": revision}).status_code == 200
    assert _answer(harness, **PARENT_14)["decision"] is False
    # files outside the bundle folder, unsigned files and other bundles are refused
    for bad in ("../outside.bundle.json", "candidates/missing.bundle.json", "candidates"):
        r = harness.admin(SHADOW, {"file": bad})
        assert r.status_code == 409 and r.json()["errors"][0]["field"] == "file", (bad, r.text)
    (bundle_dir / "candidates" / "junk.bundle.json").write_text("{}")
    assert "refused" in harness.admin(SHADOW, {"file": "candidates/junk.bundle.json"}).json()["detail"]
    cert = next(p.name for p in bundle_dir.glob("authzen-certification*.bundle.json"))
    r = harness.admin(SHADOW, {"file": cert})
    assert r.status_code == 409 and "not 'svc-jgz'" in r.json()["detail"]


def test_a_candidate_with_other_age_thresholds_derives_its_own_facts(
        harness: Harness, bundle_dir: Path, tmp_path: Path) -> None:
    (bundle_dir / "candidates").mkdir()
    shutil.copy(_candidate(tmp_path, version="2026.1.1", thresholds="[12, 14, 16, 18]", change=_stricter),
                bundle_dir / "candidates" / "bands.bundle.json")
    assert harness.admin(SHADOW, {"file": "candidates/bands.bundle.json"}).status_code == 200
    for kw in (PARENT_10, PARENT_14):
        _answer(harness, **kw)
    report = _settled(harness, 2)
    assert (report["same"], report["different"], report["errors"]) == (1, 1, 0)
    assert report["sample"][0]["facts"]["client.age"] == 14
    assert harness.svc.shadow.tracks["svc-jgz"].shares_facts(harness.svc.store.snapshot.active["svc-jgz"][-1].compiled) \
        is False


def test_requests_naming_a_version_are_not_compared(harness: Harness) -> None:
    harness.admin(SHADOW, {"version": "2025.1.0"})
    _answer(harness, **PARENT_10, context={"bundle": "svc-jgz@2026.1.0"})
    _answer(harness, **PARENT_10, context={"bundle": "svc-jgz"})
    report = _settled(harness, 2)
    assert report["skipped"] == 1 and report["compared"] == 1


def test_a_full_queue_drops_comparisons_never_answers(make_harness: MakeHarness) -> None:
    with make_harness(shadow_queue=2) as h:
        runner: ShadowRunner = h.svc.shadow
        gate = threading.Event()
        compare = runner._compare

        def slow(item: Any) -> str | None:
            gate.wait(10)
            return compare(item)

        runner._compare = slow  # type: ignore[method-assign]
        assert h.admin(SHADOW, {"version": "2026.1.0"}).status_code == 200
        answers = [_answer(h, **PARENT_10) for _ in range(10)]
        assert all(a["decision"] for a in answers)
        gate.set()
        report = _settled(h, 10)
        assert report["dropped"] >= 7 and report["compared"] == 10 - report["dropped"]
        assert 'result="dropped"' in h.client.get("/metrics").text


def test_unknown_candidates_and_bundles(harness: Harness) -> None:
    r = harness.admin(SHADOW, {"version": "9.9.9"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "version" and "9.9.9" in r.json()["detail"]
    r = harness.admin(SHADOW, {"revision": "sha256:" + "0" * 64})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "revision"
    r = harness.admin("/v1/bundles/nope/shadow", {"version": "2026.1.0"})
    assert r.status_code == 404 and r.json()["type"].endswith("/unknown-bundle")
    for body in ({}, {"version": "2026.1.0", "revision": "sha256:x"}, {"version": 2026}, [1]):
        r = harness.admin(SHADOW, body)
        assert r.status_code == 400, (body, r.text)
    r = harness.client.get(SHADOW, headers=AUTH)
    assert r.status_code == 404 and r.json()["type"].endswith("/no-shadow")
    assert harness.client.get("/v1/bundles/nope/shadow", headers=AUTH).json()["type"].endswith("/unknown-bundle")
    assert harness.client.delete(SHADOW, headers=AUTH).status_code == 404
    r = harness.client.put(SHADOW, headers=AUTH)
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, POST"


@pytest.mark.parametrize("method", ["post", "get", "delete"])
def test_shadow_calls_need_the_admin_token(harness: Harness, method: str) -> None:
    call = getattr(harness.client, method)
    kw: dict[str, Any] = {"json": {"version": "2026.1.0"}} if method == "post" else {}
    assert call(SHADOW, **kw).status_code == 401
    assert call(SHADOW, headers={"Authorization": "Bearer wrong-token-123456789"}, **kw).status_code == 403
    with_decision_token = {"Authorization": "Bearer decision-token-0123456789"}
    assert call(SHADOW, headers=with_decision_token, **kw).status_code == 403
    assert harness.svc.shadow.tracks == {}


def test_shadow_reaches_every_worker_through_the_state_folder(bundle_dir: Path, tmp_path: Path) -> None:
    """Two stores (two workers) over one state folder: a shadow started in one runs in the other, a
    restarted worker resumes it, and a stop reaches them all."""
    keyring = load_keyring(ROOT / "keys")
    state = tmp_path / "state"
    (bundle_dir / "candidates").mkdir()
    shutil.copy(_candidate(tmp_path, version="2026.2.0", change=_stricter),
                bundle_dir / "candidates" / "next.bundle.json")
    a, b = BundleStore(bundle_dir, keyring, state, "svc-jgz"), BundleStore(bundle_dir, keyring, state, "svc-jgz")
    a.reload(), b.reload()
    runner = ShadowRunner(b)
    try:
        started = a.start_shadow("svc-jgz", file="candidates/next.bundle.json")
        b.reload()  # what the watcher does when shadow.json changes
        assert runner.tracks["svc-jgz"].shadowing.key == started.key
        assert b.shadows["svc-jgz"].candidate.compiled.bundle.version == "2026.2.0"
        fresh = BundleStore(bundle_dir, keyring, state, "svc-jgz")  # a restarted worker
        fresh.reload()
        assert fresh.shadows["svc-jgz"].key == started.key
        a.reload()  # reloads keep the shadow and its tally
        assert a.shadows["svc-jgz"] is started
        a.stop_shadow("svc-jgz")
        b.reload()
        assert runner.tracks == {} and runner.report("svc-jgz")["running"] is False  # type: ignore[index]
        with pytest.raises(KeyError):
            b.stop_shadow("svc-jgz")
    finally:
        runner.close()


def test_two_workers_both_shadow_and_the_metric_adds_them_up(bundle_dir: Path, tmp_path: Path) -> None:
    """Real processes: ``serve --workers 2``; a start on one worker reaches the other through the state
    folder, each worker reports its own traffic, /metrics sums both."""
    from .test_workers import _post, _ready

    port = free_port()
    env = {**os.environ, "POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=svc-jgz", "POORTWACHTER_MAX_CLOCK_SKEW": "0", "POORTWACHTER_ADMIN_TOKEN": ADMIN_TOKEN,
           "POORTWACHTER_STATE_DIR": str(tmp_path / "state"), "POORTWACHTER_DECISION_LOG": "off",
           "POORTWACHTER_TRUST_DEV_KEY": "true",
           "POORTWACHTER_RELOAD": "poll", "POORTWACHTER_POLL_INTERVAL": "0.2"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "poortwachter"), "serve", "--port", str(port),
                             "--workers", "2", "--bundles", str(bundle_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    log.close()  # the server keeps its own copy

    def report() -> dict[str, Any]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{SHADOW}", headers={**AUTH, "Connection": "close"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body: dict[str, Any] = orjson.loads(r.read())
            return body

    def reports() -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for _ in range(30):
            try:
                r = report()
            except urllib.error.HTTPError:  # 404: this worker has not followed yet
                continue
            found[r["worker"]] = r
        return found

    try:
        assert wait_until(lambda: _ready(port)), (tmp_path / "serve.log").read_text()
        started = _post(port, SHADOW, {"version": "2025.1.0"}, ADMIN_TOKEN)
        assert started["running"] and started["candidate"]["version"] == "2025.1.0"
        assert wait_until(lambda: len(reports()) == 2), "the second worker never shadowed"
        for _ in range(40):  # fresh connections reach both workers
            assert _post(port, "/access/v1/evaluation", yc_request(**PARENT_14))["decision"] is True

        def both_compared() -> bool:
            found = reports()
            return len(found) == 2 and sum(r["compared"] for r in found.values()) == 40

        assert wait_until(both_compared), reports()
        assert all(r["compared"] > 0 and r["different"] == r["compared"] for r in reports().values())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        assert 'poortwachter_shadow_decisions_total{bundle="svc-jgz",result="different",version="2025.1.0"} 40.0' in metrics
    finally:
        stop_server(proc)
