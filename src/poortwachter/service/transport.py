"""The HTTP/1.1 connection: the parser's own error answers as problem documents, a time limit on headers,
and one write per answer.

A request the parser cannot read (a Content-Length that is not a number, a broken request line or
header) never reaches the app: uvicorn answers it itself, in plain text. This protocol class
answers the same 400 (and still closes the connection) as an RFC 9457 problem document like every
other error of the service, so a PEP needs one error parser.

uvicorn also waits for a request's headers without any limit (its keep-alive timer runs only between
requests), so a client sending half a request line holds a connection for ever. Here the headers
must be complete within ``body_timeout`` seconds of the connection or of the request's first byte;
else a 408 problem and the connection is closed. The body's own limit is checked by the app.

uvicorn writes an answer's head and its body with one ``transport.write`` each, and on an idle
connection each write is at once a ``send`` system call and a TCP segment that wakes the client. The
connection's transport is wrapped in :class:`Coalescing`, which sends what was written during one
turn of the event loop as one: an answer leaves in one ``send`` at the end of the turn in which it
was written (issue 16: pinned, about 5 % less server CPU per single evaluation, 3–4 % more
decisions/s). A streamed body whose parts are written in different turns still goes out part by
part, each at its turn's end.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .problems import PROBLEM_JSON, Problem
from .settings import handed_to_worker


@functools.cache
def header_timeout() -> float:
    """``body_timeout`` of the settings ``serve`` handed to this worker (10 s without them)."""
    return float(handed_to_worker("body_timeout", 10.0))


def _problem(problem: Problem) -> bytes:
    return orjson.dumps(problem.body())


def malformed_http(msg: str) -> bytes:
    """The body of the 400 answered to an unreadable request."""
    return _problem(Problem(400, "malformed-http", f"the request is not valid HTTP/1.1: {msg}",
                            field="request", expected="an HTTP/1.1 request", got=msg))


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the parser's 400 and a header timeout as problem documents."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Coalescing(transport, self.loop))  # type: ignore[arg-type]
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def _start_header_timer(self) -> None:
        self._stop_header_timer()
        self._header_timer = self.loop.call_later(header_timeout(), self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        seconds = header_timeout()
        self._answer(408, b"Request Timeout", _problem(Problem(
            408, "header-timeout", f"the request headers did not arrive within {seconds:g} seconds",
            field="request", expected=f"the whole request head within {seconds:g} s", got="an incomplete head")))

    def send_400_response(self, msg: str) -> None:
        self._stop_header_timer()
        self._answer(400, b"Bad Request", malformed_http(msg))

    def _answer(self, status: int, reason: bytes, body: bytes) -> None:
        content = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n", b"\r\n", body])
        if not self.transport.is_closing():
            self.transport.write(b"".join(content))
            self.transport.close()


class Coalescing:
    """A connection's transport whose writes of one event-loop turn are sent as one (module docstring).

    Everything but writing and closing is the wrapped transport's own (flow control, addresses,
    ``is_closing``); closing and ending the stream send what is pending first, aborting drops it."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self._send)  # after the turn's other callbacks: the body joins its head
        else:
            self._pending.append(data)

    def writelines(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def write_eof(self) -> None:
        self._send()
        self._transport.write_eof()

    def _send(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._send()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
