"""RFC 9457 problem documents: the one shape of every 4xx/5xx this service sends.

Every client error names the offending field (``errors[].field`` as a dotted path like the core's
RequestError uses, and ``errors[].pointer`` as a JSON Pointer into the request body), what was
expected and what was sent, so a dossier system's developer can fix the call from the answer alone.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.responses import Response

from ..core.errors import PoortwachterError, RequestError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://poortwachter.nl/problems/"

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
    503: "Service Unavailable",
}

_INDEX = re.compile(r"\[(\d+)\]")


def pointer(path: str) -> str:
    """``context.consents[0].given_at`` → ``/context/consents/0/given_at`` (RFC 6901)."""
    if path in ("", "request"):
        return ""
    parts = _INDEX.sub(r".\1", path).split(".")
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts if p)


class Problem(PoortwachterError):
    """Raised anywhere in a route to answer with a problem document."""

    def __init__(self, status: int, kind: str, detail: str, *, field: str | None = None,
                 expected: str | None = None, got: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.errors = [] if field is None else [field_error(field, expected, got)]
        self.headers = headers or {}

    @classmethod
    def from_request_error(cls, exc: RequestError, prefix: str = "") -> Problem:
        field = prefix + exc.path if prefix and exc.path != "request" else exc.path
        kind = getattr(exc, "cause", "invalid-request")  # routing.Refused: dossier-type, clock-skew, pinned-version
        return cls(400, kind, f"{field}: expected {exc.expected}, got {exc.got}",
                   field=field, expected=exc.expected, got=exc.got)

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": TYPE_BASE + self.kind, "title": TITLES.get(self.status, "Error"),
                               "status": self.status, "detail": self.detail}
        if instance:
            doc["instance"] = instance
        if self.errors:
            doc["errors"] = self.errors
        return doc

    def response(self, instance: str | None = None) -> Response:
        return Response(orjson.dumps(self.body(instance)), status_code=self.status,
                        media_type=PROBLEM_JSON, headers=self.headers)


def field_error(field: str, expected: str | None, got: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"field": field, "pointer": pointer(field)}
    if expected is not None:
        item["expected"] = expected
    if got is not None:
        item["got"] = got
    return item


def item_error(exc: RequestError, status: int = 400) -> dict[str, Any]:
    """The ``context.error`` of one failed evaluation inside a batch (AuthZEN §7 errors)."""
    return {"status": status, "message": f"{exc.path}: expected {exc.expected}, got {exc.got}",
            **field_error(exc.path, exc.expected, exc.got)}
