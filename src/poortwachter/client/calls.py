"""Every endpoint once, as a prepared call and the reader of its answer; the sync and async clients only send.

A :class:`Prepared` call holds the method, path, body and headers, which statuses carry an answer
and how to read it. :func:`outcome` turns what came back into that answer or an exception: a
problem document into its :class:`~poortwachter.client.errors.Problem` subclass, anything else that
is not the documented answer into a :class:`~poortwachter.client.errors.ProtocolError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from .answer import (
    Decision,
    Explanation,
    FilterAnswer,
    Metadata,
    SearchAnswer,
)
from .bundles import BundleDetail, BundleList, Health, LoadReport, ShadowReport
from .errors import FieldError, Problem, ProtocolError, problem_class

T = TypeVar("T")

DEFAULT_TIMEOUT = 2.0
"""Seconds for the whole call by default: a sidecar answers in milliseconds; a caller waiting longer
holds a user's screen hostage. Set ``timeout=`` on the client for a remote service."""

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
USER_AGENT = "poortwachter-client-python"


@dataclass(frozen=True)
class Prepared(Generic[T]):
    """One call, ready to send: ``read(status, json)`` makes the answer of a status in ``accept``."""

    method: str
    path: str
    body: bytes | None
    headers: Mapping[str, str]
    read: Callable[[int, Any], T] = field(repr=False)
    accept: tuple[int, ...] = (200,)


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")


def encode(body: Any) -> bytes:
    """Compact UTF-8 JSON; dates and date-times in ISO 8601."""
    return json.dumps(body, default=_iso, ensure_ascii=False, separators=(",", ":")).encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def problem(status: int, headers: Mapping[str, str], doc: Any) -> Problem:
    """The exception for a problem document (a minimal one when the body is not a valid document)."""
    if not isinstance(doc, Mapping):
        doc = {}
    errors = []
    for item in doc.get("errors") or ():
        if isinstance(item, Mapping) and isinstance(item.get("field"), str):
            errors.append(FieldError(item["field"], str(item.get("pointer", "")),
                                     *(str(item[k]) if item.get(k) is not None else None for k in ("expected", "got"))))
    kind = doc.get("type") if isinstance(doc.get("type"), str) else "about:blank"
    cls = problem_class(kind)
    return cls(status, kind, str(doc.get("title", "")), str(doc.get("detail", "")),
               instance=doc.get("instance") if isinstance(doc.get("instance"), str) else None,
               errors=tuple(errors), request_id=_header(headers, "x-request-id"),
               retry_after=_retry_after(_header(headers, "retry-after")), document=doc)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are unique: ``{"decision": false, "decision": true}`` is no answer, not an allow."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key twice in one object")
    return out


def outcome(prepared: Prepared[T], status: int, headers: Mapping[str, str], content: bytes) -> T:
    """The answer of one call, or the exception that says why there is none."""
    media = (_header(headers, "content-type") or "").split(";")[0].strip().lower()
    try:
        data = json.loads(content, object_pairs_hook=_unique) if media in (JSON, PROBLEM_JSON) else None
    except ValueError:
        raise ProtocolError(f"{prepared.method} {prepared.path}: {status} with a body that is not JSON", status) from None
    if media == PROBLEM_JSON or (status >= 400 and isinstance(data, Mapping) and "type" in data and "status" in data):
        raise problem(status, headers, data)
    if status in prepared.accept and media == JSON:
        try:
            return prepared.read(status, data)
        except ProtocolError as exc:
            raise ProtocolError(f"{prepared.method} {prepared.path}: {exc}", status) from None
    raise ProtocolError(f"{prepared.method} {prepared.path}: unexpected answer {status} ({media or 'no media type'})",
                        status)


class Endpoints:
    """Builds the calls; holds the tokens and the headers sent with every call."""

    def __init__(self, token: str | None, history_token: str | None, admin_token: str | None,
                 headers: Mapping[str, str] | None) -> None:
        self.token = token
        self.history_token = history_token
        self.admin_token = admin_token
        self.headers = {"User-Agent": USER_AGENT, "Accept": f"{JSON}, {PROBLEM_JSON}", **(headers or {})}

    def _prepare(self, method: str, path: str, body: Any, read: Callable[[int, Any], T], *, token: str | None,
                 request_id: str | None = None, traceparent: str | None = None,
                 accept: tuple[int, ...] = (200,)) -> Prepared[T]:
        headers = dict(self.headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if request_id:
            headers["X-Request-ID"] = request_id
        if traceparent:
            headers["traceparent"] = traceparent
        data = None
        if body is not None:
            data = encode(body)
            headers["Content-Type"] = JSON
        return Prepared(method, path, data, headers, read, accept)

    def evaluate(self, request: Mapping[str, Any], request_id: str | None, traceparent: str | None) -> Prepared[Decision]:
        return self._prepare("POST", "/access/v1/evaluation", request, lambda _, d: Decision.read(d),
                             token=self.token, request_id=request_id, traceparent=traceparent)

    def evaluate_batch(self, request: Mapping[str, Any], request_id: str | None,
                       traceparent: str | None) -> Prepared[list[Decision]]:
        return self._prepare("POST", "/access/v1/evaluations", request, _batch, token=self.token,
                             request_id=request_id, traceparent=traceparent)

    def search(self, kind: str, request: Mapping[str, Any], request_id: str | None,
               traceparent: str | None) -> Prepared[SearchAnswer]:
        return self._prepare("POST", f"/access/v1/search/{kind}", request, lambda _, d: SearchAnswer.read(d),
                             token=self.token, request_id=request_id, traceparent=traceparent)

    def metadata(self) -> Prepared[Metadata]:
        return self._prepare("GET", "/.well-known/authzen-configuration", None, lambda _, d: Metadata.read(d), token=None)

    def explain(self, request: Mapping[str, Any], history: bool, request_id: str | None,
                traceparent: str | None) -> Prepared[Explanation]:
        token = self.history_token if history else self.token
        if history and not token:
            raise ValueError("explain(history=True) needs the client's history_token")
        return self._prepare("POST", "/v1/decisions", request, lambda _, d: Explanation.read(d), token=token,
                             request_id=request_id, traceparent=traceparent)

    def filter(self, request: Mapping[str, Any], request_id: str | None,
               traceparent: str | None) -> Prepared[FilterAnswer]:
        return self._prepare("POST", "/v1/filter", request, lambda _, d: FilterAnswer.read(d), token=self.token,
                             request_id=request_id, traceparent=traceparent)

    def bundles(self) -> Prepared[BundleList]:
        return self._prepare("GET", "/v1/bundles", None, lambda _, d: BundleList.read(d), token=self.token)

    def bundle(self, name: str) -> Prepared[BundleDetail]:
        return self._prepare("GET", f"/v1/bundles/{quote(name, safe='')}", None, lambda _, d: BundleDetail.read(d),
                             token=self.token)

    def health(self, path: str) -> Prepared[Health]:
        return self._prepare("GET", path, None, lambda status, d: Health.read(d, status == 200), token=None,
                             accept=(200, 503))

    def admin(self, path: str, body: Any = None) -> Prepared[LoadReport]:
        return self._admin("POST", path, body, lambda _, d: LoadReport.read(d))

    def _admin(self, method: str, path: str, body: Any, read: Callable[[int, Any], T]) -> Prepared[T]:
        if not self.admin_token:
            raise ValueError("admin calls need the client's admin_token")
        return self._prepare(method, path, body, read, token=self.admin_token)

    def shadow(self, method: str, name: str, candidate: Mapping[str, str | None] | None = None) -> Prepared[ShadowReport]:
        body = None if candidate is None else {k: v for k, v in candidate.items() if v is not None}
        return self._admin(method, f"/v1/bundles/{quote(name, safe='')}/shadow", body,
                           lambda _, d: ShadowReport.read(d))

    def reload(self) -> Prepared[LoadReport]:
        return self.admin("/v1/bundles/reload")

    def activate(self, name: str, version: str | None, revision: str | None) -> Prepared[LoadReport]:
        body = {k: v for k, v in (("version", version), ("revision", revision)) if v is not None}
        return self.admin(f"/v1/bundles/{quote(name, safe='')}/activate", body or None)

    def rollback(self, name: str) -> Prepared[LoadReport]:
        return self.admin(f"/v1/bundles/{quote(name, safe='')}/rollback")


def _batch(status: int, data: Any) -> list[Decision]:
    """``{"evaluations": [...]}``; a body without evaluations was answered in the single shape."""
    if isinstance(data, Mapping) and "evaluations" in data:
        items = data["evaluations"]
        if not isinstance(items, list):
            raise ProtocolError("answer.evaluations: expected a list", status)
        return [Decision.read(item, f"answer.evaluations[{i}]") for i, item in enumerate(items)]
    return [Decision.read(data)]
