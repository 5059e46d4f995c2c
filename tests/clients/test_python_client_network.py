"""poortwachter.client over a real network: a real ``poortwachter serve``, and the ways a call can fail.

Fail closed: a refused connection, a server that never answers, a proxy's HTML error page and a 200
that is not a decision each raise a ClientError; none of them is ever an allow.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import support

from poortwachter.client import AsyncClient, Client, ClientError, ProtocolError, Timeout, TransportError

from .conftest import ALLOW, DENY, Stub


def test_the_sync_client_against_a_real_server(server: support.Server) -> None:
    with Client(server.base) as pdp:
        allow = pdp.evaluate(ALLOW, request_id="epd-7f3a")
        deny = pdp.evaluate(DENY)
        assert pdp.ready().ok
    assert allow.decision is True and allow.context.reasons[0].rule == "jgz.inzage.gezag-onder-12"
    assert deny.decision is False and "jgz.relatie.derde" in [r.rule for r in deny.context.reasons]
    # the answer was recorded in the decision log, with the caller's request id
    assert support.wait_until(lambda: allow.context.decision_id in support.logged_ids(server.log_dir), 10)


def test_the_async_client_against_a_real_server(server: support.Server) -> None:
    async def calls() -> list[bool]:
        async with AsyncClient(server.base) as pdp:
            answers = await asyncio.gather(*(pdp.evaluate(body) for body in (ALLOW, DENY, ALLOW)))
            batch = await pdp.evaluate_batch({**ALLOW, "evaluations": [{}, {"subject": DENY["subject"]}]})
        return [a.decision for a in answers] + [a.decision for a in batch]

    assert asyncio.run(calls()) == [True, False, True, True, False]


# ------------------------------------------------------------------------------------------ failure modes


def _http(status: str, media: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            .encode() + body)


def test_a_server_that_never_answers_is_a_timeout_not_a_wait(stub: type[Stub]) -> None:
    silent = stub(None)
    started = time.monotonic()
    with Client(silent.base, timeout=0.3) as pdp, pytest.raises(Timeout):
        pdp.evaluate(ALLOW)
    assert time.monotonic() - started < 3

    async def call() -> None:
        async with AsyncClient(silent.base, timeout=0.3) as pdp:
            await pdp.evaluate(ALLOW)

    started = time.monotonic()
    with pytest.raises(Timeout):
        asyncio.run(call())
    assert time.monotonic() - started < 3


def test_nothing_listening_is_a_transport_error() -> None:
    with Client(f"http://127.0.0.1:{support.free_port()}", timeout=1) as pdp, pytest.raises(TransportError):
        pdp.evaluate(ALLOW)


def test_the_default_timeout_is_bounded() -> None:
    pdp = Client()
    assert pdp.timeout.read == pdp.timeout.connect == 2.0
    pdp.close()


@pytest.mark.parametrize(("reply", "status"), [
    (_http("502 Bad Gateway", "text/html", b"<html>proxy error</html>"), 502),
    (_http("200 OK", "application/json", b'{"decision": "true", "context": {"decision_id": "x"}}'), 200),
    (_http("200 OK", "application/json", b'{"decision": true}'), 200),
    (_http("200 OK", "application/json", b'{"decision": tru'), 200),
    (_http("200 OK", "application/json", b'{"decision": false, "decision": true, "context": {"decision_id": "x"}}'),
     200),
    (_http("200 OK", "text/plain", b'{"decision": true, "context": {"decision_id": "x"}}'), 200),
    (_http("403 Forbidden", "application/json", b'{"decision": false}'), 403),
], ids=["proxy-page", "string-decision", "no-context", "broken-json", "duplicate-key", "not-json-media", "403-json"])
def test_an_answer_that_is_not_a_decision_is_never_an_allow(stub: type[Stub], reply: bytes, status: int) -> None:
    server = stub(reply)
    with Client(server.base, timeout=2) as pdp, pytest.raises(ProtocolError) as caught:
        pdp.evaluate(ALLOW)
    assert isinstance(caught.value, ClientError) and caught.value.status == status


def test_a_problem_from_elsewhere_is_still_a_problem(stub: type[Stub]) -> None:
    doc = b'{"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "upstream down"}'
    server = stub(_http("503 Service Unavailable", "application/problem+json", doc).replace(
        b"Connection: close", b"Retry-After: 2\r\nConnection: close"))
    from poortwachter.client import Problem

    with Client(server.base) as pdp, pytest.raises(Problem) as caught:
        pdp.evaluate(ALLOW)
    assert type(caught.value) is Problem and caught.value.retryable and caught.value.retry_after == 2.0
    assert caught.value.kind == "about:blank" and caught.value.detail == "upstream down"
