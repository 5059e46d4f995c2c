"""The writer's one-pass line hashes equal the chain's definitions (logbook/checkpoint.py).

A record line's hash (the next line's ``prev``) is SHA-256 of the whole line; its leaf (what a
checkpoint covers) is the short SHA-256 of the line without its chain link. ``hash_and_leaf`` takes
both in one pass; verify.py recomputes them the plain way, so any difference would break every log.
"""

from __future__ import annotations

import hashlib

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from poortwachter.logbook.checkpoint import hash_and_leaf, leaf

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=12), _json, max_size=8), st.one_of(st.none(), st.text("0123456789abcdef",
                                                                                             min_size=64, max_size=64)))
def test_one_pass_equals_the_hash_and_the_leaf_of_a_record_line(record: dict[str, object], prev: str | None) -> None:
    line = orjson.dumps({**record, "prev": prev}) + b"\n"
    assert hash_and_leaf(line) == (hashlib.sha256(line).hexdigest(), leaf(line))


def test_lines_without_a_chain_link_are_hashed_whole() -> None:
    for line in (b'{"v":1}\n', b'{"prev":"ab"}\n', b',"prev":\n', b"", b'{"a":",\\"prev\\":"}\n'):
        assert hash_and_leaf(line) == (hashlib.sha256(line).hexdigest(), leaf(line)), line
