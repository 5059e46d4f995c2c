"""The Java client (clients/java) compiled with the JDK's javac and run against a real Poortwachter server.

No build tool and nothing downloaded: ``javac --release 17`` over the client and its check program
(clients/java/src/test/…/ClientCheck.java; the ``java_build`` fixture), then ``java`` runs the check against ``poortwachter serve``
with the embedded nl-jgz bundle, a server that never answers and a port where nothing listens. The
check prints one line per call; this test asserts the real decisions in them.
"""

from __future__ import annotations

import subprocess

import pytest
import support

from .conftest import JavaBuild, Stub, need_tool

# one worker builds the Java client (javac, ~5 s) and runs its check; split, both workers built it
pytestmark = pytest.mark.xdist_group("java")


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split()[1:])


@pytest.fixture(scope="module")
def check(java_build: JavaBuild, server: support.Server) -> dict[str, dict[str, str]]:
    java = need_tool("java")
    silent = Stub(None)
    body = b'{"decision": "true", "context": {"decision_id": "x"}}'
    impostor = Stub(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                    b"Connection: close\r\n\r\n%s" % (len(body), body))
    try:
        result = subprocess.run(
            [java, "-cp", str(java_build.classes), "nl.poortwachter.client.ClientCheck", server.base, silent.base,
             f"http://127.0.0.1:{support.free_port()}", impostor.base],
            capture_output=True, text=True, timeout=120, encoding="utf-8")
    finally:
        silent.close()
        impostor.close()
    assert result.returncode == 0, result.stdout + result.stderr
    return {line.split()[0]: _fields(line) for line in result.stdout.splitlines() if line.strip()}


def test_an_allow_with_its_rule_basis_and_obligations(check: dict[str, dict[str, str]]) -> None:
    assert check["ready"] == {"ok": "true"}
    allow = check["allow"]
    assert allow["decision"] == "true" and allow["rule"] == "jgz.inzage.gezag-onder-12"
    assert "BW_7:456" in allow["basis"].split(",")
    assert set(allow["obligations"].split(",")) == {"log_access", "redact_third_party", "respond_within_one_month"}
    assert allow["permits"] == "true" and allow["permits_without_log"] == "false"
    assert allow["bundle"] == "nl-jgz@2026.1.0" and allow["id"]


def test_the_allow_was_recorded_in_the_decision_log(check: dict[str, dict[str, str]], server: support.Server) -> None:
    assert support.wait_until(lambda: check["allow"]["id"] in support.logged_ids(server.log_dir), 10)


def test_a_deny_with_reasons_and_what_is_missing(check: dict[str, dict[str, str]]) -> None:
    deny = check["deny"]
    assert deny["decision"] == "false" and deny["permits"] == "false" and deny["text_nl"] == "true"
    assert "jgz.relatie.derde" in deny["rules"].split(",")
    assert "subject.identity_verified" in deny["missing"].split(",")


def test_a_batch_in_order_with_the_malformed_item_denied_in_place(check: dict[str, dict[str, str]]) -> None:
    assert check["batch"] == {"size": "3", "decisions": "true,false,false", "error_field": "action.name",
                              "error_status": "400"}
    assert check["short_circuit"] == {"size": "2"}


def test_explain_and_filter(check: dict[str, dict[str, str]]) -> None:
    explain = check["explain"]
    assert explain["decision"] == "true" and explain["age"] == "7" and int(explain["rules"]) > 50
    assert int(explain["applied"]) >= 1
    assert check["filter"] == {"allowed": "groei,vaccinatie", "denied": "geheim_adres", "items": "3"}


def test_a_problem_document_is_an_exception(check: dict[str, dict[str, str]]) -> None:
    assert check["problem"] == {"status": "400", "kind": "invalid-request", "field": "action.name",
                                "pointer": "/action/name", "got": "'lezen'", "retryable": "false",
                                "request_id": "true"}
    assert check["missing_resource"] == {"status": "400", "field": "resource"}


def test_no_answer_is_an_exception_never_an_allow(check: dict[str, dict[str, str]]) -> None:
    assert check["timeout"] == {"exception": "TimedOutException", "within_3s": "true", "is_poortwachter": "true"}
    assert check["refused"] == {"exception": "TransportException"}
    assert check["impostor"] == {"exception": "ProtocolException", "status": "200"}  # a string is not an allow


def test_the_json_reader_and_writer(check: dict[str, dict[str, str]]) -> None:
    assert check["json"] == {"roundtrip": "true", "duplicate_refused": "true"}
