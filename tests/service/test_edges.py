"""Failing closed, tokens, and the error classes of the edge."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from poortwachter.service import decider as decider_module
from poortwachter.service.decision_log import DecisionLog, DecisionLogUnavailable, MemorySink

from .conftest import ADMIN_TOKEN, Harness, yc_request

DECISION_TOKEN = "decision-token-0123456789abcdef"


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise ZeroDivisionError("simulated bug in the evaluator")


def test_internal_error_while_deciding_is_a_deny_never_a_5xx(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decider_module, "evaluate", _boom)
    r = harness.post("/access/v1/evaluation", yc_request())
    assert r.status_code == 200
    body = r.json()
    assert body["decision"] is False
    assert body["context"]["reasons"][0]["rule"] == "evaluation-error"
    assert body["context"]["error"]["status"] == 500
    assert harness.sink.events[-1]["rules"] == ["evaluation-error"]
    batch = {"subject": yc_request()["subject"], "action": {"name": "read"},
             "evaluations": [{"resource": yc_request()["resource"]}] * 2}
    answers = harness.post("/access/v1/evaluations", batch).json()["evaluations"]
    assert [a["decision"] for a in answers] == [False, False]


def test_internal_error_in_explain_is_a_deny(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decider_module, "explain", _boom)
    r = harness.post("/v1/decisions", yc_request())
    assert r.status_code == 200 and r.json()["decision"] is False


def test_unexpected_error_outside_a_decision_is_a_500_problem_with_request_id(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(harness.svc.store), "summary", _boom)
    r = harness.client.get("/v1/bundles", headers={"X-Request-ID": "oops-1"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "oops-1"
    assert r.json()["type"].endswith("/internal-error")


def test_decision_log_failure_fails_closed_with_503(harness: Harness) -> None:
    harness.sink.fail = True
    r = harness.post("/access/v1/evaluation", yc_request())
    assert r.status_code == 503
    assert r.json()["type"].endswith("/decision-log-unavailable") and r.headers["retry-after"] == "1"
    assert harness.client.get("/readyz").status_code == 503
    harness.sink.fail = False
    assert harness.post("/access/v1/evaluation", yc_request()).status_code == 200
    assert harness.client.get("/readyz").status_code == 200


def test_closed_log_refuses_and_memory_sink_records() -> None:
    sink = MemorySink()
    log = DecisionLog(sink)
    log.record({"a": 1})
    assert sink.events == [{"a": 1}] and log.healthy
    log.close()
    assert not log.healthy
    with pytest.raises(DecisionLogUnavailable):
        log.record({"a": 2})


def test_decision_token_guards_decision_endpoints(make_harness: Any) -> None:
    with make_harness(decision_token=DECISION_TOKEN) as h:
        for path in ("/access/v1/evaluation", "/access/v1/evaluations", "/v1/decisions", "/v1/filter",
                     "/access/v1/search/resource"):
            r = h.post(path, yc_request())
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert h.post(path, yc_request(), headers={"Authorization": "Bearer not-the-token-0000"}).status_code == 403
        ok = h.post("/access/v1/evaluation", yc_request(), headers={"Authorization": f"Bearer {DECISION_TOKEN}"})
        assert ok.status_code == 200
        assert h.client.get("/v1/bundles").status_code == 401
        assert h.client.get("/healthz").status_code == 200
        assert h.client.get("/.well-known/authzen-configuration").status_code == 200


def test_admin_api_is_disabled_without_an_admin_token(make_harness: Any) -> None:
    with make_harness(admin_token=None) as h:
        r = h.admin("/v1/bundles/reload")
        assert r.status_code == 403 and r.json()["type"].endswith("/admin-disabled")


def test_admin_token_from_file_and_from_its_digest(make_harness: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text(ADMIN_TOKEN + "\n")
    with make_harness(admin_token=None, admin_token_file=token_file) as h:
        assert h.admin("/v1/bundles/reload").status_code == 200
    digest = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    with make_harness(admin_token=None, admin_token_sha256=digest) as h:
        assert h.admin("/v1/bundles/reload").status_code == 200
        assert h.admin("/v1/bundles/reload", token="x" * 32).status_code == 403


def test_short_tokens_are_refused_at_startup(make_harness: Any) -> None:
    from poortwachter.service.settings import SettingsError

    with pytest.raises(SettingsError, match="shorter than 16"), make_harness(admin_token="short"):
        pass


def test_unknown_path_and_method_are_problems(harness: Harness) -> None:
    r = harness.client.get("/access/v1/nothing")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = harness.client.get("/access/v1/evaluation")
    assert r.status_code == 405 and r.json()["status"] == 405


def test_path_parameters_never_give_422(harness: Harness) -> None:
    r = harness.client.get("/v1/bundles/%20")
    assert r.status_code == 404


def test_metrics_count_decisions_and_cache(harness: Harness) -> None:
    harness.post("/access/v1/evaluation", yc_request())
    harness.post("/access/v1/evaluation", yc_request())
    r = harness.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    decisions = [line for line in r.text.splitlines() if line.startswith("poortwachter_decisions_total{")]
    assert any('rule="parent-gezag-under-12"' in line and 'bundle="svc-jgz"' in line for line in decisions)
    assert any('result="hit"' in line for line in r.text.splitlines() if line.startswith("poortwachter_cache"))
