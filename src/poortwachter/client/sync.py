"""The blocking client (httpx.Client): one instance per process, shared by threads, closed at exit."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from .answer import (
    Decision,
    Explanation,
    FilterAnswer,
    Metadata,
    SearchAnswer,
)
from .bundles import BundleDetail, BundleList, Health, LoadReport, ShadowReport
from .calls import DEFAULT_TIMEOUT, Endpoints, Prepared, outcome
from .errors import Timeout, TransportError
from .request import (
    ActionSearchRequest,
    EvaluationRequest,
    EvaluationsRequest,
    FilterRequest,
    ResourceSearchRequest,
    SubjectSearchRequest,
)

T = TypeVar("T")


class Client:
    """Calls one Poortwachter service. Every method answers or raises a
    :class:`~poortwachter.client.ClientError` (deny on it). ``timeout`` (seconds, 2 by default) bounds
    each phase of a call: connecting, sending, every read.

    ``token`` is the decision token (if the service has one), ``history_token`` the one for questions
    about the past (``explain(history=True)``), ``admin_token`` the one for reload/activate/rollback.
    ``http`` lets you bring your own ``httpx.Client`` (proxies, mTLS, a shared pool): it stays yours, and
    its own timeouts apply (httpx's default is 5 s; never set ``None``).
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8181", *, token: str | None = None,
                 history_token: str | None = None, admin_token: str | None = None,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT, headers: Mapping[str, str] | None = None,
                 http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._calls = Endpoints(token, history_token, admin_token, headers)
        self._own = http is None
        self._http = http if http is not None else httpx.Client(timeout=self.timeout)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _send(self, prepared: Prepared[T]) -> T:
        try:
            response = self._http.request(prepared.method, self.base_url + prepared.path, content=prepared.body,
                                          headers=dict(prepared.headers))
        except httpx.TimeoutException as exc:
            raise Timeout(f"{prepared.method} {prepared.path}: no answer within the timeout ({exc})") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{prepared.method} {prepared.path}: {type(exc).__name__}: {exc}") from exc
        return outcome(prepared, response.status_code, response.headers, response.content)

    # AuthZEN --------------------------------------------------------------------------------------------

    def evaluate(self, request: EvaluationRequest | Mapping[str, Any], *, request_id: str | None = None,
                 traceparent: str | None = None) -> Decision:
        """One decision (``POST /access/v1/evaluation``). A deny is a :class:`Decision` with ``decision`` False."""
        return self._send(self._calls.evaluate(request, request_id, traceparent))

    def evaluate_batch(self, request: EvaluationsRequest | Mapping[str, Any], *, request_id: str | None = None,
                       traceparent: str | None = None) -> list[Decision]:
        """Many decisions in request order (``POST /access/v1/evaluations``); shorter than the request when
        ``options.evaluations_semantic`` stopped early. A malformed item is a deny with ``context.error``."""
        return self._send(self._calls.evaluate_batch(request, request_id, traceparent))

    def search_subjects(self, request: SubjectSearchRequest | Mapping[str, Any], *, request_id: str | None = None,
                        traceparent: str | None = None) -> SearchAnswer:
        """Which subjects may do the action on the resource (one page)."""
        return self._send(self._calls.search("subject", request, request_id, traceparent))

    def search_resources(self, request: ResourceSearchRequest | Mapping[str, Any], *, request_id: str | None = None,
                         traceparent: str | None = None) -> SearchAnswer:
        """Which resources the subject may do the action on (one page)."""
        return self._send(self._calls.search("resource", request, request_id, traceparent))

    def search_actions(self, request: ActionSearchRequest | Mapping[str, Any], *, request_id: str | None = None,
                       traceparent: str | None = None) -> SearchAnswer:
        """Which actions the subject may do on the resource (one page)."""
        return self._send(self._calls.search("action", request, request_id, traceparent))

    def metadata(self) -> Metadata:
        """The AuthZEN PDP metadata (``/.well-known/authzen-configuration``)."""
        return self._send(self._calls.metadata())

    # native ---------------------------------------------------------------------------------------------

    def explain(self, request: EvaluationRequest | Mapping[str, Any], *, history: bool = False,
                request_id: str | None = None, traceparent: str | None = None) -> Explanation:
        """The decision with its facts and every rule's trace (``POST /v1/decisions``); with ``history`` (the
        history token) what would have been decided at ``context.time``."""
        return self._send(self._calls.explain(request, history, request_id, traceparent))

    def filter(self, request: FilterRequest | Mapping[str, Any], *, request_id: str | None = None,
               traceparent: str | None = None) -> FilterAnswer:
        """Which items or field categories one subject may see, in one call (``POST /v1/filter``)."""
        return self._send(self._calls.filter(request, request_id, traceparent))

    # bundles and operations -----------------------------------------------------------------------------

    def bundles(self) -> BundleList:
        return self._send(self._calls.bundles())

    def bundle(self, name: str) -> BundleDetail:
        return self._send(self._calls.bundle(name))

    def reload(self) -> LoadReport:
        """Admin: reload the bundle folder now."""
        return self._send(self._calls.reload())

    def activate(self, name: str, *, version: str | None = None, revision: str | None = None) -> LoadReport:
        """Admin: hold ``name`` at a known version or revision; neither releases the hold."""
        return self._send(self._calls.activate(name, version, revision))

    def rollback(self, name: str) -> LoadReport:
        """Admin: back to the revisions active before the last change of ``name``."""
        return self._send(self._calls.rollback(name))

    def start_shadow(self, name: str, *, version: str | None = None, revision: str | None = None,
                     file: str | None = None) -> ShadowReport:
        """Admin: compare a candidate (exactly one of a version, a revision or a file in the bundle folder)
        with the active versions of ``name`` on every decision, in the background; answers never change."""
        return self._send(self._calls.shadow("POST", name, {"version": version, "revision": revision, "file": file}))

    def shadow_report(self, name: str) -> ShadowReport:
        """Admin: this worker's comparison so far (after a stop: the final report)."""
        return self._send(self._calls.shadow("GET", name))

    def stop_shadow(self, name: str) -> ShadowReport:
        """Admin: stop comparing; this worker's final report."""
        return self._send(self._calls.shadow("DELETE", name))

    def health(self) -> Health:
        """Liveness (``/healthz``): ``ok`` False when the decision log writer died."""
        return self._send(self._calls.health("/healthz"))

    def ready(self) -> Health:
        """Readiness (``/readyz``): ``ok`` False while a routed bundle or the decision log is not ready."""
        return self._send(self._calls.health("/readyz"))
