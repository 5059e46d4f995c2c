"""Issue 16: the lean path of the two AuthZEN decision endpoints answers exactly what the FastAPI
routes answer (status, headers, problem documents, decisions, log records, error counts) while
skipping the router, and leaves every other request to FastAPI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Router

from poortwachter.service.app import create_app
from poortwachter.service.decision_log import DecisionLog, MemoryOutput
from poortwachter.service.lean import LeanAuthZen
from poortwachter.service.settings import Settings

from .conftest import yc_request

TOKEN = "decision-token-for-tests-0123456789"


@contextmanager
def client(bundle_dir: Path, lean: bool, **overrides: Any) -> Iterator[tuple[TestClient, MemoryOutput]]:
    values: dict[str, Any] = {"bundles": bundle_dir, "dossier_type_bundles": {"jgz": "svc-jgz"}, "max_clock_skew": 0,
                              "allow_pinned_versions": True, "reload": "off", "decision_log": "off",
                              "max_batch": 5, "max_body_bytes": 20_000, "trust_dev_key": True, **overrides}
    sink = MemoryOutput()
    app = create_app(Settings(**values), decision_log=DecisionLog(sink))
    if not lean:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not LeanAuthZen]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, sink


JSON = {"Content-Type": "application/json"}
CALLS: dict[str, tuple[str, bytes, dict[str, str]]] = {
    "allowed": ("/access/v1/evaluation", orjson.dumps(yc_request()), JSON),
    "denied": ("/access/v1/evaluation", orjson.dumps(yc_request(gezag=False)), JSON),
    "invalid field": ("/access/v1/evaluation", orjson.dumps(yc_request(relation="buurman")), JSON),
    "malformed json": ("/access/v1/evaluation", b'{"subject": ', JSON),
    "duplicate key": ("/access/v1/evaluation", b'{"a": 1, "a": 2}', JSON),
    "wrong media type": ("/access/v1/evaluation", orjson.dumps(yc_request()), {"Content-Type": "text/plain"}),
    "too large": ("/access/v1/evaluation", b"{" + b" " * 30_000 + b"}", JSON),
    "empty body": ("/access/v1/evaluations", b"", JSON),
    "batch": ("/access/v1/evaluations", orjson.dumps({"evaluations": [yc_request(), yc_request(gezag=False),
                                                                        {"subject": 1}]}), JSON),
    "batch as single": ("/access/v1/evaluations", orjson.dumps({**yc_request(), "evaluations": []}), JSON),
    "batch too large": ("/access/v1/evaluations", orjson.dumps({"evaluations": [yc_request()] * 6}), JSON),
    "bad semantic": ("/access/v1/evaluations", orjson.dumps({"evaluations": [yc_request()],
                                                             "options": {"evaluations_semantic": "x"}}), JSON),
}


def normalised(response: Any) -> tuple[int, str, str | None, Any]:
    """Status, media type, Retry-After/Allow and the body with the (per-call) decision ids blanked."""
    body = response.json() if response.content else None

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("*" if k == "decision_id" else blank(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value
    return (response.status_code, response.headers.get("content-type", ""),
            response.headers.get("allow") or response.headers.get("www-authenticate"), blank(body))


def test_the_lean_path_answers_what_the_routes_answer(bundle_dir: Path) -> None:
    answers: dict[bool, dict[str, Any]] = {}
    logs: dict[bool, list[Any]] = {}
    for lean in (True, False):
        with client(bundle_dir, lean) as (c, sink):
            answers[lean] = {name: normalised(c.post(path, content=body, headers=headers))
                             for name, (path, body, headers) in CALLS.items()}
            logs[lean] = [e._replace(decision_id="*", request_id="*", time="*")
                          for e in sink.events]
    assert answers[True] == answers[False]
    assert logs[True] == logs[False] and len(logs[True]) == 6  # allowed, denied, 3 batch items, batch as single
    assert answers[True]["allowed"][0] == 200 and answers[True]["malformed json"][0] == 400
    assert answers[True]["too large"][0] == 413 and answers[True]["batch too large"][0] == 413


def test_the_token_guards_the_lean_path(bundle_dir: Path) -> None:
    with client(bundle_dir, True, decision_token=TOKEN) as (c, sink):
        path, body, headers = CALLS["allowed"]
        refused = c.post(path, content=body, headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        wrong = c.post(path, content=body, headers={**headers, "Authorization": "Bearer not-the-token-0123456"})
        assert wrong.status_code == 403
        assert sink.events == []
        ok = c.post(path, content=body, headers={**headers, "Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.headers["x-request-id"] and len(sink.events) == 1


def test_only_the_two_decision_posts_skip_the_router(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    routed: list[str] = []
    real = Router.__call__

    async def spy(self: Router, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            routed.append(f"{scope['method']} {scope['path']}")
        await real(self, scope, receive, send)

    monkeypatch.setattr(Router, "__call__", spy)
    with client(bundle_dir, True) as (c, _):
        for path in ("/access/v1/evaluation", "/access/v1/evaluations"):
            assert c.post(path, json=yc_request()).status_code == 200
        assert routed == []
        not_allowed = c.get("/access/v1/evaluation")
        assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "POST"
        assert c.post("/access/v1/evaluation/", json=yc_request(), follow_redirects=False).status_code == 307
        assert c.get("/healthz").status_code == 200
    assert routed == ["GET /access/v1/evaluation", "POST /access/v1/evaluation/", "GET /healthz"]
