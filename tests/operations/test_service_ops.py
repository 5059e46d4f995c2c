"""The service with a real decision-log folder: records are durable before the answer, failures fail
closed (503, /readyz, metric), and /metrics exports every series the dashboard and alerts query."""

from __future__ import annotations

import errno
import importlib
import os
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support import wait_until

from poortwachter.logbook import query as q
from poortwachter.logbook.pseudonym import Pseudonymiser
from poortwachter.service.app import create_app
from poortwachter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LOG_KEY = "operations-test-pseudonym-key-0123456789"


@pytest.fixture
def client(tmp_path: Path, mini_bundles: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY", LOG_KEY)
    bundles = tmp_path / "bundles"
    shutil.copytree(mini_bundles, bundles)
    settings = Settings(trust_dev_key=True, bundles=bundles, dossier_type_bundles={"jgz": "mini"}, max_clock_skew=0, reload="off", decision_log=str(tmp_path / "log"),
                        admin_token="operations-admin-token-0123456789")
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def on_disk(client: TestClient) -> list[dict[str, Any]]:
    folder = Path(client.app.state.service.settings.decision_log)  # type: ignore[attr-defined]
    return list(q.read_records(folder))


def test_the_record_is_on_disk_before_the_answer(client: TestClient, parent: Any) -> None:
    r = client.post("/access/v1/evaluation", json=parent(1, client="c-child", subject="p-mother"),
                    headers={"X-Request-ID": "req-123"})
    assert r.status_code == 200 and r.json()["decision"] is True
    decision_id = r.json()["context"]["decision_id"]
    (record,) = [x for x in on_disk(client) if x["decision_id"] == decision_id]  # no close, no flush needed
    assert record["request_id"] == "req-123"
    pseudonym = Pseudonymiser(LOG_KEY.encode())
    assert record["subject"] == {"id": pseudonym("p-mother"), "type": "person", "role": "ouder"}
    assert record["client"] == pseudonym("c-child")
    assert record["decision"] == "allow" and record["rules"] == ["parent-gezag-under-12"]
    assert record["obligations"] == ["log_access"] and record["bundle"]["revision"].startswith("sha256:")
    assert record["processing_activity_id"] == "pa-inzage" and record["traceparent"].startswith("00-0af765")
    assert record["item"]["id"] == pseudonym("d-1") + "/groei/1" and record["item"]["category"] == "groei"
    assert record["purpose"] == "care" and datetime.fromisoformat(record["time"]).tzinfo is not None


def test_every_item_of_a_batch_is_on_disk_before_the_answer(client: TestClient, parent: Any) -> None:
    body = {"evaluations": [parent(i) for i in range(50)]}
    body["evaluations"][7] = {"subject": {"type": "person"}}  # malformed: a deny in place, logged too
    r = client.post("/access/v1/evaluations", json=body)
    assert r.status_code == 200
    ids = {e["context"]["decision_id"] for e in r.json()["evaluations"]}
    assert len(ids) == 50 and ids <= {x["decision_id"] for x in on_disk(client)}


def test_an_unwritable_log_fails_closed_and_says_so(client: TestClient, parent: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.post("/access/v1/evaluation", json=parent()).status_code == 200
    real = os.fdatasync
    broken = threading.Event()
    broken.set()

    def fdatasync(fd: int) -> None:
        if broken.is_set():
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    r = client.post("/access/v1/evaluation", json=parent(2))
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert "decision" not in r.json() and "Input/output error" in r.json()["detail"]
    r = client.post("/access/v1/evaluation", json=parent(3))  # refused at once while unhealthy
    assert r.status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "Input/output error" in ready.json()["detail"]
    # the gauge is process-wide: another test's log still open in this (xdist) process may set it between
    # our health check and the scrape, so read it right after a health check, a few times
    assert wait_until(lambda: client.get("/readyz").status_code == 503
                      and "poortwachter_decision_log_healthy 0.0" in client.get("/metrics").text, timeout=5)
    metrics = client.get("/metrics").text
    assert re.search(r'poortwachter_request_errors_total\{kind="decision-log-unavailable"\} [1-9]', metrics)
    assert re.search(r'poortwachter_decision_log_records_total\{result="failed"\} [1-9]', metrics)
    broken.clear()
    for _ in range(300):
        if client.get("/readyz").status_code == 200:
            break
        threading.Event().wait(0.02)
    r = client.post("/access/v1/evaluation", json=parent(4))
    assert r.status_code == 200
    assert r.json()["context"]["decision_id"] in {x["decision_id"] for x in on_disk(client)}
    assert "poortwachter_decision_log_healthy 1.0" in client.get("/metrics").text


METRIC = re.compile(r"\b(poortwachter_[a-z0-9_]+)")


def queried_series() -> set[str]:
    text = (ROOT / "deploy" / "grafana" / "dashboards" / "poortwachter.json").read_text()
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    text += "\n".join(r["expr"] for g in rules["groups"] for r in g["rules"])  # queries, not comments
    return {m for m in METRIC.findall(text)}


def declared(client: TestClient) -> set[str]:
    """Every series name a family declares (# TYPE), with the suffixes of its type: a labelled counter has
    no sample until its first event, but it is exported."""
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count"),
                "summary": ("_sum", "_count", "")}
    names = set()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for suffix in suffixes.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def scrape(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples


def test_dashboard_and_alerts_query_only_exported_series(client: TestClient, parent: Any,
                                                         mini_bundles: Path) -> None:
    """Exercise every path, then compare the exposition with what deploy/ queries."""
    client.post("/access/v1/evaluation", json=parent())
    client.post("/access/v1/evaluation", json=parent())  # a cache hit
    client.post("/access/v1/evaluations", json={"evaluations": [parent(i) for i in range(3)]})
    client.post("/access/v1/evaluation", content=b"{", headers={"content-type": "application/json"})
    bundles = Path(client.app.state.service.settings.bundles)  # type: ignore[attr-defined]
    (bundles / "mini-9.9.9.bundle.json").write_bytes(b'{"not": "signed"}')
    client.post("/v1/bundles/reload", headers={"Authorization": "Bearer operations-admin-token-0123456789"})
    # A service that ships its journal to the central store also exports the shipper's series; their module is
    # imported only by such a service (the store's driver stays out of the others), so bring them in here:
    # whether another test imported them first in this worker must not decide this one.
    importlib.import_module("poortwachter.logbook.central.metrics")
    exported = set(scrape(client)) | declared(client)
    queried = {s for s in queried_series() if not s.startswith("poortwachter:")}
    missing = sorted(s for s in queried if s not in exported)
    assert not missing, f"deploy/ queries series the service does not export: {missing}"
    assert len(queried) >= 20


def test_labels_never_carry_ids(client: TestClient, parent: Any) -> None:
    ids = {"c-secret-client", "p-secret-parent", "req-secret"}
    r = client.post("/access/v1/evaluation", json=parent(client="c-secret-client", subject="p-secret-parent"),
                    headers={"X-Request-ID": "req-secret"})
    ids.add(r.json()["context"]["decision_id"])
    for name, samples in scrape(client).items():
        for labels, _ in samples:
            assert not ids & set(labels.values()), (name, labels)
    exposition = client.get("/metrics").text
    assert not any(i in exposition for i in ids)


def test_decision_metrics_by_bundle_action_decision_rule(client: TestClient, parent: Any) -> None:
    labels = {"bundle": "mini", "version": "1.0.0", "action": "read", "decision": "allow",
              "rule": "parent-gezag-under-12"}

    def count() -> float:  # the registry is per process: compare before and after
        return sum(v for lb, v in scrape(client).get("poortwachter_decisions_total", []) if lb == labels)

    before = count()
    for i in range(3):
        client.post("/access/v1/evaluation", json=parent(i))
    assert count() - before == 3
    samples = scrape(client)
    buckets = {labels["le"] for labels, _ in samples["poortwachter_decision_duration_seconds_bucket"]}
    assert {"1e-05", "2e-05", "5e-05", "0.0001"} <= buckets  # tens of microseconds resolved
    info = samples["poortwachter_bundle_info"]
    assert any(labels["bundle"] == "mini" and labels["version"] == "1.0.0" and v == 1.0 for labels, v in info)
    assert samples["poortwachter_bundles_active"][0][1] >= 1.0  # one store per process; tests build several


def test_log_cli_reads_what_the_service_wrote(client: TestClient, parent: Any, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from poortwachter.cli import main

    client.post("/access/v1/evaluation", json=parent(client="c-42", subject="p-father"))
    client.post("/access/v1/evaluation", json=parent(client="c-43", subject="p-other"))
    key = tmp_path / "key"
    key.write_text(LOG_KEY)
    monkeypatch.delenv("POORTWACHTER_DECISION_LOG_KEY")
    assert main(["log", "--dir", str(tmp_path / "log"), "--client", "c-42", "--key-file", str(key),
                 "--format", "json"]) == 0
    (record,) = orjson.loads(capsys.readouterr().out)["decisions"]
    assert record["subject"]["id"] == Pseudonymiser(LOG_KEY.encode())("p-father")
    assert main(["log", "--dir", str(tmp_path / "log"), "--subject", "p-father", "--key-file", str(key),
                 "--format", "json"]) == 0  # the real subject id finds it: pseudonymised with the same key
    assert [r["decision_id"] for r in orjson.loads(capsys.readouterr().out)["decisions"]] == [record["decision_id"]]
    assert main(["log", "--dir", str(tmp_path / "log"), "--verify", "--log-public-key",
                 str(tmp_path / "decision-log-signing.pub")]) == 0  # the development signing key, made beside the log
    assert "signed checkpoint(s) verified" in capsys.readouterr().out


def test_serve_refuses_a_short_pseudonymisation_key(tmp_path: Path, mini_bundles: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from poortwachter.cli import main

    (tmp_path / "key").write_text("REPLACE-ME\n")
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG", str(tmp_path / "log"))
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG_KEY_FILE", str(tmp_path / "key"))
    assert main(["serve", "--bundles", str(mini_bundles), "--port", "0"]) == 2
    assert "shorter than 16 bytes" in capsys.readouterr().err
