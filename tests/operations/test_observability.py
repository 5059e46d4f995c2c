"""Metrics that tell the truth (issue 14): the end-to-end request duration includes the decision-log wait,
every series that names a bundle names it ``bundle`` with its ``version``, and a caller cannot add series."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from poortwachter.service import metrics
from poortwachter.service.app import create_app
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LOG_KEY = "operations-test-pseudonym-key-0123456789"
EVALUATION = "/access/v1/evaluation"
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def client(tmp_path: Path, mini_bundles: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The mini bundle, and a real decision-log folder: every answer waits for its record's fsync."""
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", LOG_KEY)
    bundles = tmp_path / "bundles"
    shutil.copytree(mini_bundles, bundles)
    settings = Settings(trust_dev_key=True, bundles=bundles, dossier_type_bundles={"jgz": "mini"}, max_clock_skew=0, reload="off",
                        decision_log=str(tmp_path / "log"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def scrape(client: TestClient) -> Series:
    out: Series = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            out[s.name, frozenset(s.labels.items())] = s.value
    return out


def value(series: Series, name: str, **labels: str) -> float:
    """The sum over the series of ``name`` whose labels include ``labels`` (the registry is per process)."""
    want = set(labels.items())
    return sum(v for (n, lb), v in series.items() if n == name and want <= lb)


def test_the_request_duration_includes_the_decision_log_wait(client: TestClient, parent: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow disk (fdatasync takes 0.3 s) shows in the end-to-end histogram, not in the decide part."""
    assert client.post(EVALUATION, json=parent(1)).status_code == 200
    before = scrape(client)
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (time.sleep(0.3), real(fd)))
    started = time.perf_counter()
    r = client.post(EVALUATION, json=parent(2))
    took = time.perf_counter() - started
    assert r.status_code == 200 and took >= 0.3
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    e2e = "poortwachter_request_duration_seconds_bucket"
    assert delta(e2e, endpoint=EVALUATION, code="200", le="+Inf") == 1
    assert delta(e2e, endpoint=EVALUATION, code="200", le="0.25") == 0  # it waited: above 0.25 s
    assert delta("poortwachter_request_duration_seconds_sum", endpoint=EVALUATION, code="200") >= 0.3
    decide = "poortwachter_decision_duration_seconds_bucket"
    assert delta(decide, bundle="mini", version="1.0.0", le="+Inf") == 1
    assert delta(decide, bundle="mini", version="1.0.0", le="0.25") == 1  # the decide part did not wait


def test_the_endpoint_label_is_the_route_never_the_path_sent(client: TestClient, parent: Any) -> None:
    client.get("/v1/bundles/mini")
    client.post("/access/v1/evaluation-of-someone-p-secret", json=parent())
    client.get("/c-secret/../v1/bundles")
    endpoints = {dict(lb)["endpoint"] for (n, lb) in scrape(client) if n == "poortwachter_request_duration_seconds_count"}
    assert "/v1/bundles/{name}" in endpoints and "unmatched" in endpoints
    assert not any("secret" in e for e in endpoints)
    assert endpoints <= {getattr(r, "path", "") for r in client.app.router.routes} | {"unmatched"}  # type: ignore[attr-defined]


def _two_versions(tmp_path: Path) -> Path:
    from service.conftest import SOURCES, build_artifact

    folder = tmp_path / "two"
    folder.mkdir()
    for name in ("svc-jgz-2025", "svc-jgz-2026"):
        built = build_artifact(SOURCES[name], tmp_path / "built" / name)
        shutil.copy(built, folder / built.name)
    return folder


def test_two_active_versions_are_told_apart_everywhere(tmp_path: Path) -> None:
    from service.conftest import yc_request

    settings = Settings(bundles=_two_versions(tmp_path), dossier_type_bundles={"jgz": "svc-jgz"}, max_clock_skew=0,
                        reload="off", decision_log="off", trust_dev_key=True)
    with TestClient(create_app(settings)) as client:
        before = scrape(client)
        for when, n in (("2025-06-01T10:00:00+02:00", 2), ("2026-11-22T10:00:00+01:00", 3)):
            for _ in range(n):
                assert client.post(EVALUATION, json=yc_request(time=when)).status_code == 200
        after = scrape(client)
    versions = {dict(lb)["version"] for (n, lb) in after if n == "poortwachter_bundle_info" and after[n, lb] == 1
                and dict(lb)["bundle"] == "svc-jgz"}
    assert {"2025.1.0", "2026.1.0"} <= versions
    for version, n in (("2025.1.0", 2), ("2026.1.0", 3)):
        got = (value(after, "poortwachter_decisions_total", bundle="svc-jgz", version=version)
               - value(before, "poortwachter_decisions_total", bundle="svc-jgz", version=version))
        assert got == n, version
        got = (value(after, "poortwachter_decision_duration_seconds_count", bundle="svc-jgz", version=version)
               - value(before, "poortwachter_decision_duration_seconds_count", bundle="svc-jgz", version=version))
        assert got == n, version


def test_one_label_name_for_the_bundle_everywhere(client: TestClient, parent: Any) -> None:
    """No series calls the bundle ``name``; each one that says ``bundle`` says ``version`` too."""
    client.post(EVALUATION, json=parent())
    client.post("/v1/bundles/reload")  # unauthenticated: counted, not run
    for (name, labels), _ in scrape(client).items():
        keys = dict(labels)
        assert "name" not in keys, name
        if "bundle" in keys and name.startswith("poortwachter_"):
            assert "version" in keys, name
    for path in (ROOT / "deploy" / "prometheus" / "alerts.yml", ROOT / "deploy" / "grafana" / "dashboard.py",
                 ROOT / "docs" / "observability.md"):
        text = path.read_text()
        assert "(name, version" not in text and 'name="' not in text, path


def test_a_caller_cannot_create_a_series(client: TestClient, parent: Any) -> None:
    """Bundle names and versions in labels come from the loaded set: an unknown bundle, a pinned version,
    an unknown dossier type or action add no label value (they are refused, and counted by kind)."""
    for _ in range(2):  # the first round creates the error-kind series; the second must add nothing
        before = scrape(client)
        attacks = []
        for context in ({"bundle": "evil-bundle"}, {"bundle": "mini@6.6.6-evil"}, {"bundle": "evil@1.0"}):
            body = parent()
            body["context"].update(context)
            attacks.append(body)
        body = parent()
        body["resource"]["properties"]["dossier_type"] = "evil-type"
        attacks.append(body)
        body = parent()
        body["action"]["name"] = "evil-action"
        attacks.append(body)
        for body in attacks:
            assert client.post(EVALUATION, json=body).status_code == 400
        batch = client.post("/access/v1/evaluations", json={"evaluations": attacks})
        assert batch.status_code == 200 and not any(e["decision"] for e in batch.json()["evaluations"])
        after = scrape(client)
        for _, labels in after:
            assert not any("evil" in v for _, v in labels), labels
    assert {k for k in after if not k[0].endswith("_created")} == {k for k in before if not k[0].endswith("_created")}


def test_labels_are_capped_as_a_last_guard() -> None:
    guard = metrics._Bounded()
    assert [guard(f"v{i}") for i in range(metrics.MAX_LABEL_VALUES)][-1] == f"v{metrics.MAX_LABEL_VALUES - 1}"
    assert guard("one-too-many") == "other" and guard("v3") == "v3"
    assert guard("x" * (metrics.MAX_LABEL_CHARS + 1)) == "other"
