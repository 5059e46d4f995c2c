"""OpenTelemetry traces (issue 14): the caller's traceparent is continued, one span per decision with the
bundle, rule and decision attributes and no personal data, exported over OTLP to a real receiver."""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import support
from fastapi.testclient import TestClient

if importlib.util.find_spec("opentelemetry.sdk") is None or importlib.util.find_spec("opentelemetry.proto") is None:
    if support.IN_CI:
        raise RuntimeError("the [otel] extra is not installed (the test extra includes it: ./scripts/setup)")
    pytest.skip("the [otel] extra is not installed: run ./scripts/setup", allow_module_level=True)

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from poortwachter.service import tracing
from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.settings import Settings
from service.conftest import yc_request

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
EXTRA = ("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exporter")  # the [otel] extra
# what a request says about people; none of it may reach a span
PERSONAL = ("p-secret-subject", "c-secret-client", "d-secret-dossier", "prof-secret-author", "req-secret-id",
            "org-secret", "pa-secret-activity")


def _settings(bundle_dir: Path, **extra: Any) -> Settings:
    return Settings(bundles=bundle_dir, dossier_type_bundles={"jgz": "svc-jgz"}, max_clock_skew=0, reload="off",
                    decision_log="off", trust_dev_key=True, **extra)


@pytest.fixture
def traced(bundle_dir: Path) -> Iterator[tuple[TestClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    app = create_app(_settings(bundle_dir), decision_log=DecisionLog(MemoryOutput()), span_exporter=exporter)
    with TestClient(app) as client:
        yield client, exporter


def personal_request(i: int = 0) -> dict[str, Any]:
    body = yc_request(subject_id="p-secret-subject", subject_props={"organisation": "org-secret"},
                      action_props={"processing_activity_id": "pa-secret-activity"},
                      resource_props={"client": {"id": "c-secret-client", "birthdate": "2016-05-30"},
                                      "author": {"id": "prof-secret-author", "kind": "professional"}})
    body["resource"]["id"] = f"d-secret-dossier/{i}"
    return body


def decisions(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [s for s in spans if s.name == tracing.SPAN]


def test_the_callers_trace_is_continued_with_one_span_per_decision(
        traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    r = client.post("/access/v1/evaluation", json=yc_request(), headers={"traceparent": TRACEPARENT})
    assert r.status_code == 200 and r.json()["decision"] is True
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.name != tracing.SPAN]
    (decision,) = decisions(spans)
    assert server.context is not None and decision.context is not None and server.parent is not None
    assert f"{server.context.trace_id:032x}" == TRACE_ID and f"{server.parent.span_id:016x}" == PARENT_ID
    assert decision.context.trace_id == server.context.trace_id
    assert decision.parent is not None and decision.parent.span_id == server.context.span_id
    assert server.start_time is not None and decision.start_time is not None and server.end_time is not None
    assert server.start_time <= decision.start_time and decision.end_time is not None
    assert decision.end_time <= server.end_time
    attributes = dict(decision.attributes or {})
    assert attributes == {
        "poortwachter.bundle": "svc-jgz", "poortwachter.bundle.version": "2026.1.0",
        "poortwachter.bundle.revision": r.json()["context"]["bundle"]["revision"],
        "poortwachter.action": "read", "poortwachter.decision": "allow",
        "poortwachter.rules": ("parent-gezag-under-12",), "poortwachter.obligations": ("log_access",),
        "poortwachter.endpoint": "evaluation", "poortwachter.decision_id": r.json()["context"]["decision_id"]}
    assert dict(server.resource.attributes)["service.name"] == "poortwachter"


def test_a_batch_has_one_span_per_item_under_the_request(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    items = [yc_request(), yc_request(gezag=False), {"subject": {"type": "person"}}]  # allow, deny, malformed
    r = client.post("/access/v1/evaluations", json={"evaluations": items})
    assert [e["decision"] for e in r.json()["evaluations"]] == [True, False, False]
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.name != tracing.SPAN]
    found = decisions(spans)
    assert [dict(s.attributes or {})["poortwachter.decision"] for s in found] == ["allow", "deny"]  # decided items
    assert {s.parent.span_id for s in found if s.parent} == {server.context.span_id}  # type: ignore[union-attr]
    assert [dict(s.attributes or {})["poortwachter.endpoint"] for s in found] == ["evaluations"] * 2


def test_no_personal_data_in_any_span(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    headers = {"traceparent": TRACEPARENT, "X-Request-ID": "req-secret-id"}
    assert client.post("/access/v1/evaluation", json=personal_request(), headers=headers).status_code == 200
    client.post("/access/v1/evaluations", json={"evaluations": [personal_request(i) for i in range(3)]}, headers=headers)
    client.post("/v1/decisions", json=personal_request(), headers=headers)
    client.post("/v1/filter", json={**personal_request(), "items": [{"id": "d-secret-dossier/9", "category": "groei"}]},
                headers=headers)
    spans = exporter.get_finished_spans()
    assert len(decisions(spans)) >= 5
    exported = "".join(s.to_json() for s in spans)
    leaked = [p for p in PERSONAL if p in exported]
    assert not leaked, leaked


def test_an_unsampled_caller_trace_makes_no_spans(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    r = client.post("/access/v1/evaluation", json=yc_request(), headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"})
    assert r.status_code == 200 and exporter.get_finished_spans() == ()


def test_an_error_while_deciding_is_a_deny_and_an_error_span(traced: tuple[TestClient, InMemorySpanExporter],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from poortwachter.service import decider

    def broken(*args: Any) -> Any:
        raise ZeroDivisionError("simulated")

    monkeypatch.setattr(decider, "evaluate", broken)
    client, exporter = traced
    r = client.post("/access/v1/evaluation", json=yc_request(gezag=False))
    assert r.status_code == 200 and r.json()["decision"] is False
    (span,) = decisions(exporter.get_finished_spans())
    assert span.status.status_code.name == "ERROR"
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "ZeroDivisionError" and attributes["poortwachter.decision"] == "deny"
    assert attributes["poortwachter.decision_id"] == r.json()["context"]["decision_id"]


def test_probes_and_metrics_make_no_traces(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    client, exporter = traced
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200
    assert exporter.get_finished_spans() == ()


class Receiver(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP collector: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    received: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.received.append(request)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: list[ExportTraceServiceRequest] = []
    handler = type("Handler", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_spans_reach_an_otlp_receiver(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "poortwachter-sidecar-test")
    with receiver() as (url, received):
        app = create_app(_settings(bundle_dir, otel_exporter_otlp_endpoint=url),
                         decision_log=DecisionLog(MemoryOutput()))
        with TestClient(app) as client:
            r = client.post("/access/v1/evaluation", json=personal_request(), headers={"traceparent": TRACEPARENT})
            assert r.status_code == 200
        # the app's shutdown flushed the batch processor to the receiver
        spans = [(rs.resource, s) for req in received for rs in req.resource_spans
                 for ss in rs.scope_spans for s in ss.spans]
    by_name = {s.name: (resource, s) for resource, s in spans}
    resource, decision = by_name[tracing.SPAN]
    assert decision.trace_id.hex() == TRACE_ID
    attributes = {a.key: a.value for a in decision.attributes}
    assert attributes["poortwachter.bundle"].string_value == "svc-jgz"
    assert attributes["poortwachter.decision"].string_value == "allow"
    assert [v.string_value for v in attributes["poortwachter.rules"].array_value.values] == ["parent-gezag-under-12"]
    service = {a.key: a.value.string_value for a in resource.attributes}
    assert service["service.name"] == "poortwachter-sidecar-test"  # the standard variable is honoured
    server = next(s for resource, s in spans if s.name != tracing.SPAN)
    assert server.parent_span_id.hex() == PARENT_ID and decision.parent_span_id == server.span_id
    wire = b"".join(req.SerializeToString() for req in received)
    assert not [p for p in PERSONAL if p.encode() in wire]


def test_a_served_worker_exports_to_the_receiver_named_by_the_standard_variable(
        tmp_path: Path, bundle_dir: Path) -> None:
    """``poortwachter serve``: the worker sets up its exporter from the environment (each worker its own)."""
    from support import post, serve, wait_until

    with receiver() as (url, received):
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        with serve(tmp_path, bundle_dir, env=env) as server:
            for i in range(6):
                body = personal_request(i)
                r = httpx.post(server.base + "/access/v1/evaluation", json=body,
                               headers={"traceparent": TRACEPARENT, "Connection": "close"}, timeout=10)
                assert r.status_code == 200
            assert post(server.base, "/access/v1/evaluations", {"evaluations": [personal_request()]}).status_code == 200

            def spans() -> list[Any]:
                return [s for req in list(received) for rs in req.resource_spans for ss in rs.scope_spans
                        for s in ss.spans if s.name == tracing.SPAN]

            assert wait_until(lambda: len(spans()) >= 7, 30), f"{len(spans())} decision spans arrived"
        found = spans()
        assert sum(1 for s in found if s.trace_id.hex() == TRACE_ID) == 6
        endpoints = {a.value.string_value for s in found for a in s.attributes if a.key == "poortwachter.endpoint"}
        assert endpoints == {"evaluation", "evaluations"}
        wire = b"".join(req.SerializeToString() for req in list(received))
        assert not [p for p in PERSONAL if p.encode() in wire]


def test_tracing_is_off_by_default_and_switched_on_by_setting_or_standard_variable(bundle_dir: Path) -> None:
    plain = _settings(bundle_dir)
    assert tracing.enabled(plain, {}) is None and tracing.setup(plain, env={}) is None
    assert tracing.enabled(plain, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "OTEL_EXPORTER_OTLP_ENDPOINT"
    assert tracing.enabled(plain, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    on = _settings(bundle_dir, otel_exporter_otlp_endpoint="http://127.0.0.1:4318")
    assert tracing.enabled(on, {}) == "otel_exporter_otlp_endpoint"
    assert tracing.enabled(on, {"OTEL_SDK_DISABLED": "true"}) is None
    with pytest.raises(ValueError, match="otel_exporter_otlp_endpoint"):
        _settings(bundle_dir, otel_exporter_otlp_endpoint="collector:4318")  # not a URL


def test_without_the_extra_the_service_runs_and_a_configured_tracing_fails_loud(
        bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The extra's packages made unimportable (FastAPI itself needs opentelemetry-api, which stays): off
    works and imports none of them, on is a SettingsError that names the extra, from ``serve`` as well."""
    code = (
        "import sys\n"
        f"EXTRA = {EXTRA!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith(EXTRA):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from fastapi.testclient import TestClient\n"
        "from poortwachter.service.app import create_app\n"
        "from poortwachter.service.settings import Settings\n"
        "from poortwachter.service.settings import SettingsError\n"
        f"base = dict(bundles={str(bundle_dir)!r}, dossier_type_bundles={{'jgz': 'svc-jgz'}}, reload='off', "
        "decision_log='off', trust_dev_key=True)\n"
        "with TestClient(create_app(Settings(**base))) as c:\n"
        "    assert c.get('/readyz').status_code == 200\n"
        "assert not [m for m in sys.modules if m.startswith(EXTRA)], 'imported while off'\n"
        "try:\n"
        "    create_app(Settings(**base, otel_exporter_otlp_endpoint='http://127.0.0.1:4318'))\n"
        "except SettingsError as exc:\n"
        "    print(exc)\n"
        "import os\n"
        "os.environ['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:9'  # the standard variable, for serve\n"
        "from poortwachter.cli import main\n"
        "sys.exit(main(['serve', '--bundles', base['bundles'], '--port', '0']))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=svc-jgz", "POORTWACHTER_DECISION_LOG": "off"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                         check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "tracing is configured (otel_exporter_otlp_endpoint)" in out.stdout
    assert "pip install 'poortwachter[otel]'" in out.stdout
    assert "tracing is configured (OTEL_EXPORTER_OTLP_ENDPOINT)" in out.stderr  # serve says it and stops


def test_a_span_as_json_for_the_docs(traced: tuple[TestClient, InMemorySpanExporter]) -> None:
    """The example in docs/observability.md has the attributes a real span has."""
    client, exporter = traced
    client.post("/access/v1/evaluation", json=yc_request(), headers={"traceparent": TRACEPARENT})
    (span,) = decisions(exporter.get_finished_spans())
    real = json.loads(span.to_json())
    doc = (Path(__file__).resolve().parents[2] / "docs" / "observability.md").read_text()
    example = json.loads(doc.split("<!-- span example -->\n```json\n", 1)[1].split("```", 1)[0])
    assert set(example["attributes"]) == set(real["attributes"]) and example["name"] == real["name"]
    assert example["context"]["trace_id"] == real["context"]["trace_id"]  # the caller's trace
