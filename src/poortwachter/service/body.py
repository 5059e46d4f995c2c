"""Reading a JSON request body at the edge: media type, size limit, then orjson.

Why by hand and not as a FastAPI body parameter: the hot path must not build pydantic models (the
core validates with exact field paths anyway), the limit must hold before the body is in memory
(a Content-Length above it is refused unread, a chunked body is counted while streaming), and the
answers must be problem documents with AuthZEN's status codes.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .problems import Problem


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json(request: Request, limit: int, *, authzen: bool, optional: bool = False) -> Any:
    """The decoded body. AuthZEN paths answer a wrong media type with 400 (its certification
    requires that, C.2.4.3); the native API with 415 as RFC 9110 says. ``optional``: an absent
    body reads as None (admin calls without parameters)."""
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
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "body-too-large", f"request body is larger than the limit of {limit} bytes",
                          field="request", expected=f"at most {limit} bytes", got=f"more than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if optional:
            return None
        raise Problem(400, "empty-body", "the request body is empty", field="request",
                      expected="a JSON object", got="nothing")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "malformed-json", f"the request body is not valid JSON: {exc}", field="request",
                      expected="a JSON object", got="malformed JSON") from None
