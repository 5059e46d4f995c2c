"""Half-sent requests against a real ``poortwachter serve``: the stalled connection gets a 408 (or is
closed) within ``body_timeout``, and other clients are answered meanwhile. Also a Content-Length that
disagrees with the body, which only a real HTTP parser sees."""

from __future__ import annotations

import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from service.conftest import SOURCES, build_artifact, yc_request
from support import Server, logged_ids, serve

from .conftest import count

BODY_TIMEOUT = 2.0
MARGIN = 3.0  # scheduling slack on a loaded CI machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("slowloris")
    bundles = tmp / "bundles"
    bundles.mkdir()
    out = build_artifact(SOURCES["svc-jgz-2026"], tmp / "built")
    shutil.copy(out, bundles / out.name)
    with serve(tmp, bundles, env={"POORTWACHTER_BODY_TIMEOUT": str(BODY_TIMEOUT)}) as s:
        yield s


def _stall(server: Server, first: bytes) -> tuple[bytes, float]:
    """Send ``first`` and nothing more; (what the server sent before closing, seconds until it closed)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=BODY_TIMEOUT + MARGIN + 5) as sock:
        sock.sendall(first)
        started = time.monotonic()
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received, time.monotonic() - started


def _others_answered(server: Server, seconds: float) -> list[float]:
    """Latencies of normal requests sent while a stalled connection is held."""
    latencies = []
    end = time.monotonic() + seconds
    with httpx.Client(base_url=server.base, timeout=5) as client:
        while time.monotonic() < end:
            started = time.monotonic()
            r = client.post("/access/v1/evaluation", json=yc_request())
            assert r.status_code == 200, r.text
            latencies.append(time.monotonic() - started)
            time.sleep(0.1)
    return latencies


HALF_BODY = orjson.dumps(yc_request())
CASES = {
    "half-body": (b"POST /access/v1/evaluation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(HALF_BODY)).encode() + b"\r\n\r\n" + HALF_BODY[: len(HALF_BODY) // 2]),
    "half-headers": b"POST /access/v1/evaluation HTTP/1.1\r\nHost: x\r\nContent-Ty",
    "half-request-line": b"POST /access/v1/eval",
    "length-larger-than-body": (b"POST /access/v1/evaluation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 100000\r\n\r\n" + HALF_BODY),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_stalled_request_is_cut_off_in_time_while_others_are_answered(server: Server, case: str) -> None:
    import threading

    result: dict[str, tuple[bytes, float]] = {}
    stalled = threading.Thread(target=lambda: result.setdefault("r", _stall(server, CASES[case])))
    stalled.start()
    latencies = _others_answered(server, BODY_TIMEOUT)
    stalled.join(BODY_TIMEOUT + MARGIN + 10)
    count("slowloris")
    received, seconds = result["r"]
    assert seconds <= BODY_TIMEOUT + MARGIN, f"the stalled connection was held {seconds:.1f} s (body_timeout {BODY_TIMEOUT})"
    if received:
        assert received.startswith(b"HTTP/1.1 408"), received[:300]
        assert b"application/problem+json" in received, received[:300]
    assert latencies and max(latencies) < 1.0, f"others waited up to {max(latencies):.2f} s"


def test_a_content_length_shorter_than_the_body_does_not_smuggle_a_request(server: Server) -> None:
    """The bytes after Content-Length are a second request: garbage, so a 400 problem (the parser may
    refuse the whole buffer before the first is answered); never a second decision, never a 5xx."""
    body = orjson.dumps(yc_request())
    raw = (b"POST /access/v1/evaluation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body + b"GARBAGE / HTTP/9\r\n\r\n")
    count("slowloris")
    with socket.create_connection(("127.0.0.1", server.port), timeout=BODY_TIMEOUT + MARGIN) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    starts = [m.start() for m in re.finditer(rb"(?:^|(?<=\}))HTTP/1\.1 \d{3} ", received)]
    answers = [received[a + 9:b] for a, b in zip(starts, [*starts[1:], len(received)])]
    assert answers, "no answer at all"
    assert all(a[:3] in (b"200", b"400") for a in answers), received[:800]
    assert sum(a.startswith(b"200") for a in answers) <= 1, "the smuggled bytes were answered as a request"
    assert answers[-1].startswith(b"400") and b"application/problem+json" in answers[-1], answers[-1][:300]
    if answers[0].startswith(b"200"):  # the parser may refuse the whole buffer instead: also fine
        decision_id = orjson.loads(answers[0].split(b"\r\n\r\n", 1)[1])["context"]["decision_id"]
        assert decision_id in logged_ids(server.log_dir)


def test_a_client_that_pipelines_and_never_reads_holds_no_one_else_up(server: Server) -> None:
    """Thousands of pipelined decisions on one connection whose answers are never read: the answers back up
    in that connection's buffers only (its writes are joined per event-loop turn, service/transport.py, and
    uvicorn stops reading it while they wait), and every other client is answered meanwhile."""
    import threading

    body = orjson.dumps(yc_request())
    one = (b"POST /access/v1/evaluation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    sent = threading.Event()

    def flood() -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and never recv
            try:
                for _ in range(20):
                    sock.sendall(one * 100)
            except OSError:  # the server stopped reading us: the point of the test
                pass
            sent.set()
            time.sleep(BODY_TIMEOUT)

    flooder = threading.Thread(target=flood)
    flooder.start()
    latencies = _others_answered(server, BODY_TIMEOUT)
    flooder.join(BODY_TIMEOUT + MARGIN + 10)
    count("slowloris", 2000)
    assert sent.is_set()
    assert latencies and max(latencies) < 1.0, f"others waited up to {max(latencies):.2f} s"


def test_the_server_still_answers_after_the_stalls(server: Server) -> None:
    r = httpx.post(server.base + "/access/v1/evaluation", json=yc_request(), timeout=2)
    assert r.status_code == 200
    assert r.json()["context"]["decision_id"] in logged_ids(server.log_dir)
    assert Path(server.log_dir).is_dir()
