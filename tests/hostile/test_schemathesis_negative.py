"""schemathesis in negative mode: requests that violate the OpenAPI document, against the app with a
real decision-log folder (tests/service/test_schemathesis.py runs the positive side).

Checked for each: no 5xx, every answer matches the document, every 4xx is a problem document (with the
field named where the request was at fault), a 200's decisions are well-formed with no internal error,
and afterwards the decision-log writer still answers and has every record.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from service.conftest import ADMIN_TOKEN, FIXTURES, SOURCES, build_artifact, yc_request
from starlette.testclient import TestClient
from support import logged_ids

from .conftest import EXAMPLES, Clock, Hostile, count, make_app

PER_OPERATION = EXAMPLES or 20
LENIENT = [negative_data_rejection, positive_data_acceptance]  # why: see tests/service/test_schemathesis.py
FIELD_NAMED = {400, 408, 413, 415}
ANSWERED: set[str] = set()
_TMP = Path(tempfile.mkdtemp(prefix="pw-hostile-negative-"))
atexit.register(shutil.rmtree, _TMP, True)


def _app() -> tuple[Any, Clock]:
    """Built at import, as schemathesis parametrizes at collection time; the svc fixtures build fast."""
    folder = _TMP / "bundles"
    folder.mkdir()
    for name, source in SOURCES.items():
        build_artifact(source, folder / name)
        for built in (folder / name).glob("*.bundle.json"):
            shutil.move(built, folder / built.name)
    app, clock = make_app(folder, _TMP, keep_log_open=True, dossier_type_bundles={"jgz": "svc-jgz"},
                          search_inventory=FIXTURES / "authzen-inventory.yaml", max_body_bytes=65_536)
    app.state.service.store.reload()  # what the lifespan does
    return app, clock


APP, CLOCK = _app()
atexit.register(APP.state.service.decision_log.close)  # opened at import, for every worker that collects this
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.NEGATIVE])
FUZZ = settings(max_examples=PER_OPERATION, deadline=None, derandomize=not EXAMPLES, database=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def _invariant(case: Any, response: Any) -> None:
    count(f"schemathesis negative {case.operation.label}")
    assert response.status_code < 500, f"{case.operation.label}: {response.status_code} {response.text[:400]}"
    if response.status_code >= 400:
        kind = response.headers.get("content-type") or [""]
        kind = kind[0] if isinstance(kind, list) else kind
        assert kind.startswith("application/problem+json"), response.headers
        doc = response.json()
        assert doc["status"] == response.status_code, doc
        if response.status_code in FIELD_NAMED:
            assert doc.get("errors") and all(e.get("field") is not None for e in doc["errors"]), doc
        return
    if case.operation.path.startswith("/access/v1/evaluation"):
        body = response.json()
        for item in body.get("evaluations", [body]):
            assert isinstance(item["decision"], bool), item
            error = item["context"].get("error") or {}
            assert int(error.get("status", 0)) < 500, f"internal error dressed as a deny: {error}"
            ANSWERED.add(item["context"]["decision_id"])


@schema.parametrize()
@FUZZ
def test_schema_violations_are_problems_never_5xx(case: Any) -> None:
    response = case.call_and_validate(excluded_checks=LENIENT)
    _invariant(case, response)


@schema.include(tag="Bundles").parametrize()
@FUZZ
def test_schema_violations_on_admin_operations_with_the_token(case: Any) -> None:
    response = case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, excluded_checks=LENIENT)
    _invariant(case, response)


def test_zz_the_decision_log_writer_survived_the_negative_run() -> None:
    with TestClient(APP, raise_server_exceptions=False) as client:
        Hostile(client, CLOCK, _TMP / "log").still_answers(yc_request())
    missing = ANSWERED - logged_ids(_TMP / "log")
    assert not missing, f"{len(missing)} of {len(ANSWERED)} answered decisions not in the log"
