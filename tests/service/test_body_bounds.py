"""The body's shape bounds (service/body.py) against a byte-by-byte reading of the JSON text.

``decode`` proves most bodies short and shallow with C-speed byte operations (quote gaps found by
``rfind``, strings dropped as adjacent quote pairs) and measures every string only when those proofs
cannot tell. Whichever way it goes, the verdict must be the one a plain tokenizer gives: the first
bound broken (a string longer than ``max_string`` bytes as sent, then nesting deeper than
``max_depth``), or none.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poortwachter.service.body import Bounds, decode
from poortwachter.service.problems import Problem

LIMIT, DEPTH = 24, 5


def _read(raw: bytes) -> tuple[int, int]:
    """(longest string in bytes as sent, deepest nesting), one byte at a time."""
    longest = depth = deepest = 0
    inside = escaped = False
    start = 0
    for i, byte in enumerate(raw):
        if inside:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # the closing quote
                inside, longest = False, max(longest, i - start - 1)
        elif byte == 0x22:
            inside, start = True, i
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return longest, deepest


def _verdict(raw: bytes, bounds: Bounds) -> str:
    try:
        decode(raw, bounds)
    except Problem as problem:
        return problem.kind
    return "ok"


def _expected(raw: bytes, bounds: Bounds) -> str:
    longest, deepest = _read(raw)
    if longest > bounds.max_string:
        return "string-too-long"
    if deepest > bounds.max_depth:
        return "too-deep"
    return "ok"


_TEXT = st.text(alphabet=st.sampled_from('ab"[]{}\\\n:,é '), max_size=2 * LIMIT) | \
    st.text(alphabet="xyz", min_size=LIMIT - 2, max_size=LIMIT + 2)
_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | _TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                       max_leaves=30)


@settings(max_examples=1500, deadline=None)
@given(value=_VALUES, indent=st.sampled_from([None, 0, 2, 30]), ascii_only=st.booleans())
def test_the_bounds_decide_as_a_byte_by_byte_reading_does(value: Any, indent: int | None, ascii_only: bool) -> None:
    raw = json.dumps({"v": value}, indent=indent, ensure_ascii=ascii_only).encode()
    bounds = Bounds(1 << 20, max_depth=DEPTH, max_string=LIMIT)
    assert _verdict(raw, bounds) == _expected(raw, bounds)


@pytest.mark.parametrize("body, kind", [
    (b'{"a": "' + b"x" * 25 + b'"}', "string-too-long"),  # one string over the limit
    (b'{"a": "' + b"x" * 24 + b'"}', "ok"),  # at the limit
    (b'{"a": "' + b"x" * 20 + b'\\"' + b"x" * 10 + b'"}', "string-too-long"),  # an escaped quote is no end
    (b'{"a": "' + b"\\\\" * 12 + b'", "b": 1}', "ok"),  # 24 bytes of escaped backslashes
    (b'{"a":' + b" " * 100 + b'"b", "c": [[[[1]]]]}', "ok"),  # a long gap outside strings
    (b'{"a": "[[[[[[", "b": [[[["x"]]]]}', "ok"),  # brackets inside a string are text
    (b'{"a": "]]]]", "b": [[[[["x"]]]]]}', "too-deep"),  # ... closing ones as well
    (b'{"a": ["' + b"y" * 30 + b'", [[[[[1]]]]]]}', "string-too-long"),  # the string is named first
])
def test_edges_of_the_proofs(body: bytes, kind: str) -> None:
    assert orjson.loads(body) is not None
    bounds = Bounds(1 << 20, max_depth=DEPTH, max_string=LIMIT)
    assert _verdict(body, bounds) == kind == _expected(body, bounds)
