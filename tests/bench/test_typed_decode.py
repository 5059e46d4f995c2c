"""bench/typed_decode.py: its sketch accepts every valid request, and its safety check finds the
changes the core refuses and a looser decoder would let through (so its "0 holes" can be believed)."""

from __future__ import annotations

import pytest

pytest.importorskip("msgspec", reason="msgspec (bench/requirements.txt) is not installed")

from bench import typed_decode  # noqa: E402 - after the skip
from bench.core_bench import corpus  # noqa: E402


def test_the_sketch_accepts_every_valid_request_and_refuses_whatever_the_core_refuses() -> None:
    requests = corpus(300, 5)
    for request in requests:
        typed_decode.sketch_reads(request)  # raises on a refusal
    tried, holes = typed_decode.holes(requests[:40], seed=5)
    assert tried > 1000
    assert holes == {}


def test_the_safety_check_finds_what_the_schema_alone_lets_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typed_decode, "sketch_reads", typed_decode.sketch_converts)  # without the Python checks
    _, holes = typed_decode.holes(corpus(200, 5)[:40], seed=5)
    assert "context.time = an unknown word" in holes
    assert "resource.properties.client.birthdate = an impossible date" in holes
