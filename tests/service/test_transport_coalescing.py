"""One write per answer (service/transport.py ``Coalescing``): what is written in one turn of the event
loop leaves as one write at the turn's end; closing sends what is pending first, aborting drops it."""

from __future__ import annotations

import asyncio
from typing import Any

from poortwachter.service.transport import Coalescing


class Recorder:
    """A transport that records its writes and whether it was closed or aborted."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


def _in_a_loop(steps: Any) -> Recorder:
    recorder = Recorder()

    async def main() -> None:
        await steps(Coalescing(recorder, asyncio.get_running_loop()), recorder)  # type: ignore[arg-type]

    asyncio.run(main())
    return recorder


def test_a_head_and_body_written_in_one_turn_leave_as_one_write() -> None:
    async def steps(transport: Coalescing, recorder: Recorder) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        assert recorder.writes == []  # nothing yet: the turn is not over
        await asyncio.sleep(0)

    assert _in_a_loop(steps).writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_parts_written_in_different_turns_leave_part_by_part() -> None:
    async def steps(transport: Coalescing, recorder: Recorder) -> None:
        transport.write(b"first")
        await asyncio.sleep(0)
        transport.write(b"second")
        await asyncio.sleep(0)

    assert _in_a_loop(steps).writes == [b"first", b"second"]


def test_close_sends_what_is_pending_first_and_abort_drops_it() -> None:
    async def closing(transport: Coalescing, recorder: Recorder) -> None:
        transport.write(b"last answer")
        transport.close()
        await asyncio.sleep(0)

    closed = _in_a_loop(closing)
    assert closed.writes == [b"last answer"] and closed.closed

    async def aborting(transport: Coalescing, recorder: Recorder) -> None:
        transport.write(b"never sent")
        transport.abort()
        await asyncio.sleep(0)

    aborted = _in_a_loop(aborting)
    assert aborted.writes == [] and aborted.aborted


def test_nothing_is_written_to_a_transport_that_is_closing() -> None:
    async def steps(transport: Coalescing, recorder: Recorder) -> None:
        transport.write(b"too late")
        recorder.aborted = True  # the peer went away meanwhile
        await asyncio.sleep(0)

    assert _in_a_loop(steps).writes == []


def test_the_rest_is_the_wrapped_transports() -> None:
    async def steps(transport: Coalescing, recorder: Recorder) -> None:
        assert transport.get_extra_info("peername") == ("127.0.0.1", 5)
        assert transport.is_closing() is False

    _in_a_loop(steps)


def test_the_served_protocol_answers_through_it() -> None:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from poortwachter.service.transport import ProblemHttpToolsProtocol

    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    async def steps(_: Coalescing, recorder: Recorder) -> None:
        config = Config(app=app, http=ProblemHttpToolsProtocol, log_config=None)
        config.load()
        protocol = ProblemHttpToolsProtocol(config, ServerState(), app_state={}, _loop=asyncio.get_running_loop())
        protocol.connection_made(recorder)  # type: ignore[arg-type]
        assert isinstance(protocol.transport, Coalescing)
        protocol.connection_lost(None)

    _in_a_loop(steps)


def test_writelines_and_write_eof_keep_the_order_of_what_is_pending() -> None:
    """The wrapped transport's own ``writelines`` or ``write_eof`` would overtake a pending write."""
    ends: list[int] = []

    async def steps(transport: Coalescing, recorder: Recorder) -> None:
        recorder.write_eof = lambda: ends.append(len(recorder.writes))  # type: ignore[attr-defined]
        transport.write(b"head ")
        transport.writelines([b"bo", b"dy"])
        transport.write_eof()
        await asyncio.sleep(0)

    assert _in_a_loop(steps).writes == [b"head body"] and ends == [1]
