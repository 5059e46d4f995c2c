"""What can go wrong calling Poortwachter, as exceptions under one root: :class:`ClientError`.

Fail closed: every way a call can end without a decision the service gave (no answer in time, a
connection refused, an answer that is not the documented shape, a problem document) raises. A
caller that catches :class:`ClientError` and denies is correct by construction.

A problem document (RFC 9457, ``application/problem+json``) becomes :class:`Problem` or, for each
problem type the service sends, its subclass (``type`` ends in the kind: ``…/problems/invalid-request``
→ :class:`InvalidRequest`). Unknown kinds (a newer service) are a plain :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_BASE = "https://poortwachter.nl/problems/"


class ClientError(Exception):
    """The root: the call did not produce a decision. Treat it as deny."""


class TransportError(ClientError):
    """No answer: the connection failed, was refused or broke off."""


class Timeout(TransportError):
    """No (complete) answer within the client's timeout."""


class ProtocolError(ClientError):
    """An answer that is not one the API documents (a proxy's error page, a 200 without a decision …)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FieldError:
    """One offending field of a request: dotted ``field``, JSON ``pointer``, what was ``expected`` and ``got``."""

    field: str
    pointer: str
    expected: str | None = None
    got: str | None = None


class Problem(ClientError):
    """A problem document: the service could not decide the request as sent (or at all).

    ``kind`` is the last part of ``type`` (``invalid-request``); ``errors`` name the fields;
    ``retryable`` is true where the same request may succeed later (503, 408)."""

    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, status: int, type: str, title: str, detail: str, *, instance: str | None = None,
                 errors: tuple[FieldError, ...] = (), request_id: str | None = None,
                 retry_after: float | None = None, document: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{status} {type.removeprefix(PROBLEM_BASE)}: {detail}")
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.errors = errors
        self.request_id = request_id
        self.retry_after = retry_after
        self.document: Mapping[str, Any] = document or {}

    @property
    def kind(self) -> str:
        return self.type.removeprefix(PROBLEM_BASE) if self.type.startswith(PROBLEM_BASE) else self.type

    @property
    def retryable(self) -> bool:
        return self.status in (408, 503)


class InvalidRequest(Problem):
    """400: a field of the request is wrong (``errors`` names it), or the request was refused as asked:
    a dossier type no configured bundle governs, a clock too far off, a pinned version not allowed."""

    kinds = ("invalid-request", "dossier-type", "clock-skew", "pinned-version")


class MalformedBody(Problem):
    """400: the body is not one JSON document within the limits (empty, not JSON, a key twice,
    nested too deep, a string too long, a Content-Length that is not a number, not HTTP at all),
    or (AuthZEN paths) not ``application/json``."""

    kinds = ("malformed-json", "empty-body", "duplicate-key", "too-deep", "string-too-long",
             "invalid-content-length", "malformed-http")


class Unauthenticated(Problem):
    """401: the endpoint needs a bearer token and none was sent."""

    kinds = ("unauthenticated",)


class Forbidden(Problem):
    """403: the bearer token is not the right one, or that access is disabled on this service."""

    kinds = ("forbidden", "admin-disabled", "history-disabled")


class NotFound(Problem):
    """404: no such path, bundle or shadow evaluation."""

    kinds = ("not-found", "unknown-bundle", "no-shadow")


class MethodNotAllowed(Problem):
    """405: the path exists, the method does not."""

    kinds = ("method-not-allowed",)


class RequestTimeout(Problem):
    """408: the service did not receive the whole request in time (retryable)."""

    kinds = ("body-timeout", "header-timeout")


class Conflict(Problem):
    """409: an admin request that cannot be carried out (nothing to roll back to, unknown version)."""

    kinds = ("conflict",)


class TooLarge(Problem):
    """413: more than ``max_body_bytes``, more items than ``max_batch``/``max_filter_items``, or more
    work than ``max_batch_work``: split the call."""

    kinds = ("body-too-large", "batch-too-large", "too-much-work")


class UnsupportedMediaType(Problem):
    """415 (``/v1`` paths; 400 on AuthZEN paths): the Content-Type is not ``application/json``."""

    kinds = ("unsupported-media-type",)


class InternalError(Problem):
    """500: the service failed on this request; nothing was decided."""

    kinds = ("internal-error",)


class Unavailable(Problem):
    """503: nothing was decided (retryable; ``retry_after`` says when): the decision could not be recorded in
    the decision log, or the worker has no policy bundle loaded yet."""

    kinds = ("decision-log-unavailable", "no-bundle-loaded")


PROBLEM_CLASSES: tuple[type[Problem], ...] = (
    InvalidRequest, MalformedBody, Unauthenticated, Forbidden, NotFound, MethodNotAllowed, RequestTimeout,
    Conflict, TooLarge, UnsupportedMediaType, InternalError, Unavailable,
)
_BY_KIND = {kind: cls for cls in PROBLEM_CLASSES for kind in cls.kinds}


def problem_class(type: str) -> type[Problem]:
    """The exception class of a problem ``type`` (:class:`Problem` for a kind this client does not know)."""
    kind = type.removeprefix(PROBLEM_BASE) if type.startswith(PROBLEM_BASE) else ""
    return _BY_KIND.get(kind, Problem)
