"""Reading a JSON request body at the edge: media type, size and time limits, orjson, then the shape bounds.

Why by hand and not as a FastAPI body parameter: the hot path must not build pydantic models (the
core validates with exact field paths anyway), the limit must hold before the body is in memory
(a Content-Length above it is refused unread, a chunked body is counted while streaming), and the
answers must be problem documents with AuthZEN's status codes.

The shape bounds (nesting depth, string length, duplicate object keys) are checked on the raw bytes
with C-speed byte operations, each behind a gate that a typical 1 KB request passes without any
scan: a body with at most ``max_json_depth`` opening brackets cannot nest deeper, a body shorter
than ``max_string_bytes`` holds no longer string, and a body without a ``\\u003a`` escape has its
duplicate keys counted by comparing the colons of the raw body with those of the decoded one. A body
past the first two gates (every batch) is first proved short and shallow without making an object
per string: the gaps between quotes found by ``rfind`` jumps, the strings dropped as adjacent quote
pairs from the brackets (tests/service/test_body_bounds.py holds both to a byte-by-byte reading).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from .problems import Problem

#: a JSON string token (unrolled loop: no backtracking); only applied to bytes orjson accepted
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"\\')  # kept: brackets, quotes, backslashes


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a body may be: bytes, seconds to arrive, nesting depth and longest string."""

    max_bytes: int
    timeout: float = 10.0
    max_depth: int = 32
    max_string: int = 8192


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _bounds(request: Request, limit: int) -> Bounds:
    settings = getattr(getattr(request.app.state, "service", None), "settings", None)
    if settings is None:
        return Bounds(limit)
    return Bounds(limit, settings.body_timeout, settings.max_json_depth, settings.max_string_bytes)


async def read_json(request: Request, limit: int, *, authzen: bool, optional: bool = False) -> Any:
    """The decoded body. AuthZEN paths answer a wrong media type with 400 (its certification
    requires that, C.2.4.3); the native API with 415 as RFC 9110 says. ``optional``: an absent
    body reads as None (admin calls without parameters)."""
    bounds = _bounds(request, limit)
    length: str | None = None
    content_type: str | None = None
    for key, value in request.scope["headers"]:  # one pass, no Headers object
        if key == b"content-length":
            length = value.decode("latin-1")
        elif key == b"content-type":
            content_type = value.decode("latin-1")
    if length is not None:
        if not length.isdigit():
            raise Problem(400, "invalid-content-length", "Content-Length is not a number", field="request")
        if int(length) > limit:
            raise Problem(413, "body-too-large", f"request body of {length} bytes is larger than the limit "
                          f"of {limit} bytes", field="request", expected=f"at most {limit} bytes", got=f"{length} bytes")
        if optional and int(length) == 0:
            return None
    if optional and length is None and content_type is None:
        return None
    if not _is_json(content_type):
        raise Problem(400 if authzen else 415, "unsupported-media-type",
                      f"the request body must be application/json, not {content_type or 'absent'}",
                      field="request", expected="Content-Type: application/json", got=content_type or "nothing")
    raw = await _receive(request, bounds)
    if not raw.strip():
        if optional:
            return None
        raise Problem(400, "empty-body", "the request body is empty", field="request",
                      expected="a JSON object", got="nothing")
    return decode(raw, bounds)


async def _receive(request: Request, bounds: Bounds) -> bytes:
    """The whole body within ``bounds.timeout`` seconds (a slowly dribbled or half-sent body holds a
    connection and its buffers; 408 frees them) and ``bounds.max_bytes`` bytes."""
    chunks: list[bytes] = []
    size = 0
    limit = bounds.max_bytes
    try:
        async with asyncio.timeout(bounds.timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(413, "body-too-large", f"request body is larger than the limit of {limit} bytes",
                                  field="request", expected=f"at most {limit} bytes", got=f"more than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise Problem(408, "body-timeout", f"the request body did not arrive within {bounds.timeout:g} seconds",
                      field="request", expected=f"the whole body within {bounds.timeout:g} s",
                      got=f"{size} bytes", headers={"Connection": "close"}) from None
    return b"".join(chunks)


def decode(raw: bytes, bounds: Bounds) -> Any:
    """orjson's strict parse, then the shape bounds; a 400 problem naming the bound otherwise."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "malformed-json", f"the request body is not valid JSON: {exc}", field="request",
                      expected="a JSON object", got="malformed JSON") from None
    if len(raw) > bounds.max_string or raw.count(b"{") + raw.count(b"[") > bounds.max_depth:
        _check_depth(_brackets(raw, bounds.max_string), bounds.max_depth)
    _check_duplicates(raw, data)
    return data


def _brackets(raw: bytes, max_string: int) -> bytes:
    """The brackets outside strings (all written ``[]``), once no string is longer than ``max_string``
    bytes (a 400 problem otherwise). First the C-speed proofs; when they cannot tell, every string is
    taken out and measured."""
    if _short_runs(raw, max_string):
        shape = _shape(raw)
        if shape is not None:
            return shape
    outside, longest = _split(raw)
    if longest > max_string:
        raise Problem(400, "string-too-long", f"the request body holds a string of {longest} bytes; at most "
                      f"{max_string} bytes per string", field="request",
                      expected=f"strings of at most {max_string} bytes", got=f"{longest} bytes")
    return outside.translate(_BRACKETS, _NOT_BRACKETS)


def _short_runs(raw: bytes, limit: int) -> bool:
    """True when no two successive quotes are more than ``limit`` bytes apart, so no string is longer
    (False says only: measure). From each quote, the last quote within reach is found in C (``rfind``);
    a typical batch body is crossed in a few jumps, where splitting it makes an object per string."""
    if b'\\"' in raw:  # an escaped quote is not a string's end: the exact path reads the tokens
        return False
    here, last = raw.find(b'"'), raw.rfind(b'"')
    while here < last:
        here = raw.rfind(b'"', here + 1, here + limit + 2)
        if here < 0:
            return False
    return True


def _shape(raw: bytes) -> bytes | None:
    """The body's brackets outside strings (``{`` read as ``[``), when no string holds a bracket or a
    backslash; None otherwise. Each string then leaves two adjacent quotes among the kept bytes, and
    removing adjacent pairs from the left removes exactly the strings: a quote that stays means some
    string held something, and the exact path decides."""
    shape = raw.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    return None if b'"' in shape or b"\\" in shape else shape


def _split(raw: bytes) -> tuple[bytes, int]:
    """(the body without its strings, the longest string's length as sent). Without an escaped quote
    the pieces between quotes alternate between outside and inside a string (one C-speed split);
    with one, the string tokens are matched."""
    if b'\\"' not in raw:
        pieces = raw.split(b'"')
        return b"".join(pieces[0::2]), max(map(len, pieces[1::2]), default=0)
    return _STRING.sub(b"", raw), max(map(len, _STRING.findall(raw)), default=2) - 2


def _check_depth(shape: bytes, limit: int) -> None:
    """Nesting depth from the brackets outside strings (all written ``[]``): each pass of
    ``replace(b"[]", b"")`` removes every innermost pair, so the number of passes to empty is the
    depth (at most ``limit`` passes)."""
    for _ in range(limit):
        if not shape:
            return
        shape = shape.replace(b"[]", b"")
    if shape:
        raise Problem(400, "too-deep", f"the request body nests objects and arrays deeper than {limit} levels",
                      field="request", expected=f"at most {limit} levels of nesting", got=f"more than {limit}")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return result


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _check_duplicates(raw: bytes, data: Any) -> None:
    """A key given twice in one object is refused: orjson keeps the last one, another parser the
    first, so ``"gezag": false, "gezag": true`` would mean different things to the PEP and the PDP.

    Fast path: without a ``\\u003a`` escape every colon of the raw body is either a key's or inside
    a string, and re-encoding the decoded value keeps all of them except those of a dropped pair, so
    equal colon counts prove there was no duplicate. Otherwise the stdlib parser reports each pair."""
    if b"\\u003" not in raw:
        try:
            if raw.count(b":") == orjson.dumps(data).count(b":"):
                return
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: the slow path decides
            pass
    try:
        json.loads(raw, object_pairs_hook=_pairs)
    except _Duplicate as dup:
        raise Problem(400, "duplicate-key", f"the request body gives the key {dup.key!r} twice in one object",
                      field="request", expected="each key at most once per object",
                      got=f"{dup.key!r} twice") from None
    except (ValueError, RecursionError):  # orjson accepted it; the stdlib parser may be stricter
        raise Problem(400, "malformed-json", "the request body is not valid JSON", field="request",
                      expected="a JSON object", got="malformed JSON") from None
