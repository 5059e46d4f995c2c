"""DurableAnswers holds an answer until its records are durable, and wakes the writer for records whose
answer never started (an error path); an answer that waited woke the writer by waiting, once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from poortwachter.logbook.terms import LogHealth
from poortwachter.service.decision_log import DecisionLog, DurableAnswers
from poortwachter.service.log_sinks import pending_records


class CountingSink:
    """A durable sink that numbers records, settles at once and counts the writer's wake-ups."""

    durable = True
    watched = False
    wait_timeout = 1.0

    def __init__(self) -> None:
        self.seq = 0
        self.settled: list[list[int]] = []
        self.kicks = 0

    def record(self, event: Any) -> None:
        self.seq += 1
        pending = pending_records.get()
        assert pending is not None
        pending.append(self.seq)

    async def settle(self, seqs: list[int]) -> str | None:
        self.settled.append(seqs)
        return None

    def kick(self) -> None:
        self.kicks += 1

    def health(self) -> LogHealth:
        return LogHealth(True)

    def close(self, timeout: float) -> None:
        pass


def _run(app: Any) -> tuple[CountingSink, list[dict[str, Any]]]:
    sink = CountingSink()
    log = DecisionLog(sink)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    async def call() -> None:
        await DurableAnswers(app(log), log)({"type": "http", "path": "/"}, receive, send)

    asyncio.run(call())
    return sink, sent


def test_an_answer_waits_for_its_records_and_the_wait_alone_wakes_the_writer() -> None:
    def app(log: DecisionLog) -> Any:
        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            log.record(object())  # type: ignore[arg-type]
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
        return answer

    sink, sent = _run(app)
    assert sink.settled == [[1]]
    assert sink.kicks == 0
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


def test_records_of_an_answer_that_never_started_wake_the_writer_once() -> None:
    sinks: list[CountingSink] = []

    def app(log: DecisionLog) -> Any:
        sinks.append(log.sink)  # type: ignore[arg-type]

        async def fails(scope: Scope, receive: Receive, send: Send) -> None:
            log.record(object())  # type: ignore[arg-type]
            raise RuntimeError("failed before answering")
        return fails

    with pytest.raises(RuntimeError):
        _run(app)
    assert sinks[0].kicks == 1
    assert sinks[0].settled == []
