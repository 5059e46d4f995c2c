"""Failing closed, tokens, and the error classes of the edge."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from poortwachter.service import decider as decider_module
from poortwachter.service.decision_log import DecisionLog, DecisionLogUnavailable, MemoryOutput

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
    assert harness.sink.events[-1].rules == ("evaluation-error",)
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
    sink = MemoryOutput()
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


# ------------------------------------------------------------------ bounds on what a caller sends (issue 17)


def _raw(harness: Harness, path: str, raw: bytes) -> Any:
    return harness.client.post(path, content=raw, headers={"Content-Type": "application/json"})


def test_a_duplicate_key_is_refused_not_read_as_its_last_value(harness: Harness) -> None:
    """orjson keeps the last of two equal keys: a parent without gezag could send ``"gezag": false``
    for the PEP's parser and ``"gezag": true`` for ours."""
    denied = orjson.dumps(yc_request(gezag=False))
    assert harness.post("/access/v1/evaluation", orjson.loads(denied)).json()["decision"] is False
    smuggled = denied.replace(b'"gezag":false', b'"gezag":false,"gezag":true')
    r = _raw(harness, "/access/v1/evaluation", smuggled)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/duplicate-key") and "'gezag' twice" in r.json()["detail"]
    # a colon escaped as \u003a elsewhere cannot hide the duplicate from the colon count
    hidden = smuggled.replace(b'"purpose":"care"', b'"purpose":"care","note":"\\u003a"')
    assert _raw(harness, "/access/v1/evaluations", hidden).json()["type"].endswith("/duplicate-key")
    # equal keys in different objects are fine, and so are escaped colons without duplicates
    ok = orjson.dumps(yc_request(context={"note": "a\\u003ab:c"}))
    assert _raw(harness, "/access/v1/evaluation", ok).status_code == 200


def test_nesting_deeper_than_the_limit_is_refused(harness: Harness) -> None:
    def nested(levels: int) -> bytes:  # the request object is level 1, context level 2
        body = yc_request()
        inner: Any = "x"
        for _ in range(levels - 2):
            inner = [inner]
        body["context"]["deep"] = inner
        return orjson.dumps(body)

    assert _raw(harness, "/access/v1/evaluation", nested(32)).status_code == 200
    r = _raw(harness, "/access/v1/evaluation", nested(33))
    assert r.status_code == 400 and r.json()["type"].endswith("/too-deep")
    assert r.json()["errors"][0]["expected"] == "at most 32 levels of nesting"
    # brackets inside strings are text, not nesting
    assert _raw(harness, "/access/v1/evaluation",
                orjson.dumps(yc_request(context={"note": "[" * 200 + "{" * 200}))).status_code == 200


def test_a_string_longer_than_the_limit_is_refused(harness: Harness) -> None:
    """A top-level subject of a batch is copied into every item's decision record: one long id would
    be written a thousand times."""
    r = harness.post("/access/v1/evaluation", yc_request(subject_id="p" * 9000))
    assert r.status_code == 400 and r.json()["type"].endswith("/string-too-long")
    assert r.json()["errors"][0]["got"] == "9000 bytes"
    assert harness.post("/access/v1/evaluation", yc_request(context={"note": "n" * 8000})).status_code == 200
    r = harness.post("/access/v1/evaluation", yc_request(context={"note": "n" * 8193}))
    assert r.status_code == 400 and r.json()["type"].endswith("/string-too-long")


def test_bounds_on_a_typical_body_cost_little() -> None:
    """The shape bounds must not slow the hot path: a typical request passes every gate."""
    from poortwachter.service.body import Bounds, decode

    raw = orjson.dumps(yc_request(context={"consents": [{"by": "c-1", "for": "ouder", "scope": "dossier",
                                                          "given_at": "2026-01-01"}]}))
    assert decode(raw, Bounds(1 << 20)) == orjson.loads(raw)


def _consents(n: int) -> list[dict[str, str]]:
    return [{"by": "c-1", "for": f"p-{i}", "scope": "dossier", "given_at": "2026-01-01"} for i in range(n)]


def test_a_batch_whose_context_multiplies_its_work_is_refused_before_deciding(harness: Harness) -> None:
    """Issue 17: 14,000 consents in the top-level context and 1,000 empty items (998 KB) were 14 million
    consent parses, 42 s of one worker. Now a 413 that names the budget, before any decision."""
    body = {**yc_request(context={"consents": _consents(14_000)}), "evaluations": [{}] * 1000}
    r = harness.post("/access/v1/evaluations", body)
    assert r.status_code == 413 and r.json()["type"].endswith("/too-much-work")
    assert "max_batch_work" in r.json()["detail"] and r.json()["errors"][0]["field"] == "evaluations"
    assert r.json()["errors"][0]["got"] == f"{1000 * 14_001} work units"
    assert harness.sink.events == []  # nothing was decided


def test_the_work_budget_counts_items_and_their_context_lists(make_harness: Any) -> None:
    with make_harness(max_batch_work=100) as h:
        ok = {**yc_request(context={"consents": _consents(9)}), "evaluations": [{}] * 10}  # 10 × (1 + 9)
        assert h.post("/access/v1/evaluations", ok).status_code == 200
        over = {**yc_request(context={"consents": _consents(9), "attestations": [{"kind": "emergency", "by": "x"}]}),
                "evaluations": [{}] * 10}  # 10 × 11
        assert h.post("/access/v1/evaluations", over).status_code == 413
        # an item's own context replaces the default one (entity-level), and counts instead of it
        light = {**over, "evaluations": [{"context": {"purpose": "care"}}] * 10}
        assert h.post("/access/v1/evaluations", light).status_code == 200
        base = yc_request(context={"consents": _consents(20)})
        categories = ["gespreksverslag", "groeigegevens", "vaccinaties", "medicatie", "gezinssituatie"]
        r = h.post("/v1/filter", {**{k: base[k] for k in ("subject", "action", "context")},
                                  "resource": {"properties": base["resource"]["properties"]}, "categories": categories})
        assert r.status_code == 413 and r.json()["type"].endswith("/too-much-work")  # 5 × 21
        search = {k: base[k] for k in ("subject", "action", "context")}
        r = h.post("/access/v1/search/resource", {**search, "resource": {"type": "dossier_item"},
                                                 "candidates": [{"id": c, "properties": {**base["resource"]["properties"],
                                                                                         "category": c}} for c in categories]})
        assert r.status_code == 413 and r.json()["type"].endswith("/too-much-work")


def test_a_long_batch_gives_the_event_loop_turns() -> None:
    """Deciding is paced: other requests of the same worker are served between slices of a batch."""
    import asyncio
    from time import perf_counter

    from poortwachter.service import batch

    class SlowDecider:
        def catalog(self) -> Any:
            return object()

        def clock(self) -> Any:
            return object()

        def decide_item(self, data: Any, call: Any, catalog: Any, now: Any) -> dict[str, Any]:
            until = perf_counter() + 0.001  # 1 ms of CPU per decision
            while perf_counter() < until:
                pass
            return {"decision": data["allow"]}

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        answers = await batch.decide_paced(SlowDecider(), [{"allow": True}] * 100, None)  # type: ignore[arg-type]
        seen = ticks
        stop.set()
        await task
        return answers, seen

    answers, ticks = asyncio.run(scenario())
    assert len(answers) == 100 and ticks >= 10  # a turn every slice (~5 ms): about 20; unpaced it would be 1
    first_deny = asyncio.run(batch.decide_paced(SlowDecider(), [{"allow": True}, {"allow": False}, {"allow": True}],
                                                None, "deny_on_first_deny"))  # type: ignore[arg-type]
    assert [a["decision"] for a in first_deny] == [True, False]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"])
def test_a_time_out_of_the_calendars_range_is_a_400_on_search_and_filter(harness: Harness, when: str) -> None:
    """Issue 17: search/action and search/resource answered 500 (an OverflowError converting to
    Amsterdam time), without any authentication configured; filter denied every item with a traceback."""
    base = yc_request(context={"time": when})
    props = base["resource"]["properties"]
    calls = {
        "/access/v1/search/action": {"subject": base["subject"], "resource": base["resource"], "context": base["context"]},
        "/access/v1/search/resource": {"subject": base["subject"], "action": base["action"], "context": base["context"],
                                       "resource": {"type": "dossier_item", "properties": props}},
        "/access/v1/search/subject": {"subject": {"type": "person"}, "action": base["action"],
                                      "resource": base["resource"], "context": base["context"]},
        "/v1/filter": {"subject": base["subject"], "action": base["action"], "context": base["context"],
                       "resource": {"properties": props}, "categories": ["gespreksverslag"]},
    }
    for path, body in calls.items():
        r = harness.post(path, body)
        assert r.status_code == 400, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "context.time", path
    assert harness.sink.events == []


# ------------------------------------------------------------------ serve: exposure, temporary state, the wire


@pytest.mark.parametrize("host, token, allowed, starts", [
    ("127.0.0.1", None, False, True), ("::1", None, False, True), ("localhost", None, False, True),
    ("0.0.0.0", None, False, False), ("::", None, False, False), ("10.1.2.3", None, False, False),  # noqa: S104
    ("0.0.0.0", DECISION_TOKEN, False, True), ("0.0.0.0", None, True, True),  # noqa: S104
])
def test_serve_refuses_the_network_without_a_decision_token(host: str, token: str | None, allowed: bool,
                                                            starts: bool) -> None:
    """The container listened on 0.0.0.0 with the decision endpoints open to anyone who reached it."""
    from poortwachter.service.main import check_exposure
    from poortwachter.service.settings import Settings, SettingsError

    settings = Settings(host=host, decision_token=token, allow_unauthenticated_network=allowed)
    if starts:
        check_exposure(settings)
    else:
        with pytest.raises(SettingsError, match="no decision token"):
            check_exposure(settings)


def test_serve_removes_the_state_folder_it_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """With several workers and no state_dir, serve makes a temporary folder (it may hold the run's
    development pseudonymisation key); it is removed when serve ends, also when uvicorn fails."""
    import argparse
    import json

    from poortwachter.service import main
    from poortwachter.service import metrics_export as main_metrics
    from poortwachter.service.settings import SETTINGS_ENV

    seen: list[Path] = []

    def fake_run(*args: Any, **kwargs: Any) -> None:
        folder = Path(json.loads(main.os.environ[SETTINGS_ENV])["state_dir"])
        assert folder.is_dir() and folder.name.startswith("poortwachter-state-")
        seen.append(folder)
        raise RuntimeError("uvicorn stopped")

    monkeypatch.setattr(main.uvicorn, "run", fake_run)
    monkeypatch.setenv("POORTWACHTER_DECISION_LOG", "off")
    monkeypatch.setenv("POORTWACHTER_RELOAD", "off")
    monkeypatch.setenv(SETTINGS_ENV, "")  # serve sets it; the monkeypatch undo removes it again
    monkeypatch.setattr(main_metrics, "prepare_multiprocess", lambda workers: None)
    args = argparse.Namespace(host=None, port=None, bundles=None, workers=2, config=None)
    with pytest.raises(RuntimeError, match="uvicorn stopped"):
        main.serve(args)
    assert len(seen) == 1 and not seen[0].exists()


@pytest.fixture(scope="module")
def wire_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``poortwachter serve`` for real (uvicorn, httptools) with a 1-second body_timeout."""
    import os
    import shutil
    import subprocess
    import sys

    from support import await_ready, free_port

    from .conftest import ROOT, stop_server

    port = free_port()
    executable = Path(sys.executable).parent / "poortwachter"
    if not executable.exists():
        executable = Path(shutil.which("poortwachter") or "poortwachter")
    errors = tmp_path_factory.mktemp("wire") / "stderr.txt"
    env = {**os.environ, "POORTWACHTER_RELOAD": "off", "POORTWACHTER_DECISION_LOG": "off",
           "POORTWACHTER_BODY_TIMEOUT": "1"}
    with errors.open("wb") as err:  # the server keeps its own copy
        proc = subprocess.Popen([str(executable), "serve", "--port", str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        await_ready(proc, f"http://127.0.0.1:{port}/healthz", errors)
        yield port
    finally:
        stop_server(proc)


def _exchange(port: int, raw: bytes, wait: float = 15) -> tuple[str, dict[str, str], Any]:
    """Send ``raw`` and read until the server closes the connection: (status line, headers, JSON body)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, orjson.loads(body)


def test_a_half_sent_body_is_answered_408_and_closed(wire_server: int) -> None:
    """Issue 17: 3,000 half-sent bodies held their connections for over 60 s."""
    raw = (b"POST /access/v1/evaluation HTTP/1.1\r\nHost: pdp\r\nContent-Type: application/json\r\n"
           b"Content-Length: 100\r\n\r\n" + b'{"subject":')
    status, headers, body = _exchange(wire_server, raw)
    assert status.startswith("HTTP/1.1 408") and headers["content-type"] == "application/problem+json"
    assert body["type"].endswith("/body-timeout") and headers["connection"] == "close"


def test_half_sent_headers_are_answered_408_and_closed(wire_server: int) -> None:
    status, _, body = _exchange(wire_server, b"POST /access/v1/evaluation HTTP/1.1\r\nHost: pdp\r\n")
    assert status.startswith("HTTP/1.1 408") and body["type"].endswith("/header-timeout")


def test_an_unreadable_request_gets_a_problem_document_not_plain_text(wire_server: int) -> None:
    raw = (b"POST /access/v1/evaluation HTTP/1.1\r\nHost: pdp\r\nContent-Type: application/json\r\n"
           b"Content-Length: twelve\r\n\r\n{}")
    status, headers, body = _exchange(wire_server, raw)
    assert status.startswith("HTTP/1.1 400") and headers["content-type"] == "application/problem+json"
    assert body["type"].endswith("/malformed-http") and body["status"] == 400


def test_answers_on_one_kept_alive_connection_arrive_whole(wire_server: int) -> None:
    """Over real uvicorn, with the coalescing transport (service/transport.py): two requests one after the
    other on one kept-alive connection, each answered in full."""
    import socket

    request = b"GET /healthz HTTP/1.1\r\nHost: pdp\r\n\r\n"
    with socket.create_connection(("127.0.0.1", wire_server), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
                chunk = sock.recv(65536)
                assert chunk, "the server closed the kept-alive connection"
                data += chunk
            assert data.startswith(b"HTTP/1.1 200")


def _length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    return int(next(line.split(":", 1)[1] for line in head.split("\r\n") if line.startswith("content-length:")))


def test_a_nul_byte_in_a_shadow_file_name_is_a_400(harness: Harness) -> None:
    """Issue 17: the admin call answered 500 (ValueError: embedded null byte while resolving the path)."""
    r = harness.admin("/v1/bundles/svc-jgz/shadow", {"file": "candidates/x\u0000.bundle.json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "file"
