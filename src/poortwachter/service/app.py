"""The FastAPI app factory: wires settings, store, cache, decision log and routes together.

``create_app(settings)`` is what tests use and leaves the process as it is; ``create_app_from_env`` is
the factory uvicorn calls in each worker process of ``poortwachter serve`` (settings arrive as JSON in
the environment), and only it tunes the process (:func:`tune_process`). The
lifespan loads the bundles before the first request (with a bundle source and nothing cached yet: waits
for the first set, service/source.py), starts the hot-reload watcher and closes the decision log on
shutdown (flushing queued events).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import logging
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from time import perf_counter
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..artifacts.keys import load_keyring
from ..core.routing import Routing
from . import admin, authzen, heap, metrics, metrics_export, native, tracing, trust
from .cache import DecisionCache
from .decider import Decider, Ids
from .decision_log import (
    WRITER_SWITCH_INTERVAL,
    DecisionLog,
    DecisionLogUnavailable,
    DurableAnswers,
    open_decision_log,
    start_shipping,
)
from .inventory import Inventory
from .lean import LeanAuthZen, log_unavailable
from .openapi import answers, build_openapi, mount_docs
from .problems import Problem
from .reload import watch
from .route_kit import Service, json_response, service
from .security import guards
from .settings import Settings, settings_from_env
from .shadow import ShadowRunner
from .siblings import Siblings
from .source_state import source_folder
from .store import BundleStore

log = logging.getLogger("poortwachter.service")

DESCRIPTION = """Poortwachter decides who may see, copy, change or share what in Dutch youth-care
dossiers (Digitaal Dossier JGZ, jeugdhulp), following the OpenID AuthZEN Authorization API 1.0.

* A deny is `200 {"decision": false}`, never 403. Obligations in an answer are mandatory: a caller
  that cannot carry one out must treat the answer as deny.
* Invalid requests get 400 with an RFC 9457 problem document naming the field. Unknown fields are
  ignored; unknown values of known fields are errors.
* Allowed values listed here are those of the youth-care vocabulary (contract decision-api.md).
"""


# FastAPI ≥ 0.16x probes for OpenTelemetry providers on every request; the service reports through
# Prometheus and the decision log (which keeps traceparent), so the probe is switched off where it exists.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


class EdgeMiddleware:
    """Pure ASGI (no per-request objects): echoes or assigns X-Request-ID, keeps the W3C traceparent
    header for the decision log, times the request end to end (``request_duration_seconds``: until its
    response starts, which is after the decision-log wait of DurableAnswers inside it), and turns an
    unexpected exception into a logged 500 problem that still carries the request id."""

    def __init__(self, app: ASGIApp, ids: Ids) -> None:
        self.app = app
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = perf_counter()
        rid: bytes | None = None
        traceparent: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                rid = value
            elif key == b"traceparent":
                traceparent = value
        if rid is None or not 0 < len(rid) <= 256:
            rid = self.ids.next().encode()
        state = scope.setdefault("state", {})
        state["request_id"] = rid.decode("latin-1")
        if traceparent is not None and len(traceparent) <= 128:
            state["traceparent"] = traceparent.decode("latin-1")
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid)]
                metrics.observe_request(scope, message["status"], perf_counter() - began)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            metrics.observe_error("internal")
            if started:
                raise
            problem = Problem(500, "internal-error", "internal error; the request was not decided (fail closed)")
            await problem.response()(scope, receive, send_with_id)


def _problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        metrics.observe_error(exc.kind)
        return exc.response()

    async def on_log_unavailable(request: Request, exc: Exception) -> Response:
        return log_unavailable(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route of the path; a path may have several
            headers["Allow"] = _allowed(request)
        problem = Problem(exc.status_code, kind, str(exc.detail), headers=headers)
        return problem.response()

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid"}
        field = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return Problem(400, "invalid-request", f"{field}: {first['msg']}", field=field,
                       expected=str(first["msg"])).response()

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DecisionLogUnavailable, on_log_unavailable)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)


def _allowed(request: Request) -> str:
    """The Allow header of a 405: every method of the path the request matched first (as routing does),
    including those of further routes on that same path."""
    routes = [r for r in request.app.router.routes if getattr(r, "path_regex", None) is not None]
    path = next((r.path for r in routes if r.path_regex.match(request.url.path)), None)
    methods = {m for r in routes if r.path == path for m in getattr(r, "methods", None) or ()}
    return ", ".join(sorted(methods))


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["Operations"], operation_id="getHealth", summary="Liveness", response_model=None,
             responses={**answers("Health"), 503: {"description": "The decision log writer died.", "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}})
    async def healthz(request: Request) -> Response:
        """The process answers and its decision log writer runs (a dead writer needs a restart).
        Says nothing about bundles or a full disk (that is /readyz)."""
        log_health = service(request).decision_log.health()
        if not log_health.live:
            return json_response({"status": "dead", "detail": f"decision log: {log_health.detail}"}, 503)
        return json_response({"status": "ok"})

    @app.get("/readyz", tags=["Operations"], operation_id="getReadiness", summary="Readiness", response_model=None,
             responses={**answers("Health"), 503: {"description": "Not ready.", "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}})
    async def readyz(request: Request) -> Response:
        """Ready only while every routed bundle is active, the decision log accepts events and this
        worker decides with the same bundle set as its sibling workers (after a grace period)."""
        svc = service(request)
        bundles = svc.store.health()  # the revision set, refused files (since when), whether hot reload watches
        if not svc.store.ready:
            return json_response({"status": "not ready", "detail": svc.store.not_ready_reason(), "bundles": bundles},
                                 503)
        if not svc.decision_log.healthy:
            return json_response({"status": "not ready", "detail": f"decision log: {svc.decision_log.reason}",
                                  "bundles": bundles}, 503)
        apart = svc.siblings.check() if svc.siblings is not None else None
        if apart is not None:
            return json_response({"status": "not ready", "detail": apart, "bundles": bundles}, 503)
        ready: dict[str, Any] = {"status": "ready", "detail": svc.store.health_detail(), "bundles": bundles}
        shipper = svc.decision_log.shipper
        if shipper is not None:  # a store outage is reported here, not refused (until the journal limit)
            ready["log_shipping"] = shipper.status().report()
        return json_response(ready)

    app.add_api_route("/metrics", metrics_export.metrics_endpoint, methods=["GET"], tags=["Operations"], operation_id="getMetrics",
                      summary="Prometheus metrics", response_model=None,
                      responses={200: {"description": "Prometheus text exposition.",
                                       "content": {"text/plain": {"schema": {"type": "string"}}}}})


def _mount_first(app: FastAPI, *routers: APIRouter) -> None:
    """The routers' routes go straight onto the app, ahead of /openapi.json and /docs.

    Why not include_router: this FastAPI keeps an included router as a nested matcher that is
    walked again on every request, and Starlette tries routes in order; the decision routes are
    what the sidecar serves thousands of times a second, so they are matched first and directly.
    """
    own = [route for router in routers for route in router.routes]
    app.router.routes[:0] = own


def build_service(settings: Settings, *, decision_log: DecisionLog | None = None,
                  clock: Callable[[], datetime] | None = None, announce: bool = True) -> Service:
    """Everything but the HTTP layer (tests drive this directly, too). ``announce``: log how keys are trusted
    (``serve`` does it once for all its workers)."""
    guard = guards(settings)
    keyring = load_keyring(*settings.keys)
    refused = trust.refused_keys(settings)
    if announce:
        trust.announce(settings, keyring, refused)
    routing = routing_of(settings)
    folder = source_folder(settings.state_dir) if settings.bundle_source and settings.state_dir else settings.bundles
    store = BundleStore(folder, keyring, settings.state_dir, routing.bundles.values(), key_dirs=settings.keys,
                        clock=clock, refused_keys=refused)
    poller = None
    if settings.bundle_source and settings.state_dir:
        from .source import Poller, credentials_from_env  # httpx and the OCI client only where a source is set

        poller = Poller(store, settings.state_dir, settings.bundle_source,
                        interval=settings.bundle_source_poll_interval, timeout=settings.bundle_source_timeout,
                        max_backoff=settings.bundle_source_max_backoff, credentials=credentials_from_env())
    cache = DecisionCache(settings.cache_size, settings.cache_ttl)
    dlog = decision_log or open_decision_log(settings.decision_log, settings.decision_log_capacity, settings)
    shadow = ShadowRunner(store, settings.shadow_queue, settings.shadow_sample)
    decider = Decider(store, cache, dlog, routing, clock, shadow)
    siblings = None
    if settings.state_dir is not None:  # several workers share it: each compares its set with the others'
        siblings = Siblings(settings.state_dir)
        store.listeners.append(lambda snapshot: siblings.on_swap(snapshot.digest))
    return Service(settings, store, cache, dlog, decider, guard.admin, guard.decision, guard.history,
                   Inventory.load(settings.search_inventory), shadow, siblings, poller)


def routing_of(settings: Settings) -> Routing:
    """Which law decides a request, as the operator configured it (core/routing.py)."""
    skew = timedelta(seconds=settings.max_clock_skew) if settings.max_clock_skew > 0 else None
    return Routing(MappingProxyType(dict(settings.dossier_type_bundles)), settings.allow_pinned_versions, skew)


def create_app(settings: Settings | None = None, *, decision_log: DecisionLog | None = None,
               clock: Callable[[], datetime] | None = None, span_exporter: Any = None,
               announce: bool = True) -> FastAPI:
    """The ASGI app. Bundles are loaded in the lifespan (before the first request is served).
    ``span_exporter``: traces go there instead of OTLP (tests; service/tracing.py). ``announce``: log how keys
    are trusted (``serve`` does it once for all its workers)."""
    settings = settings or settings_from_env()
    traces = tracing.setup(settings, exporter=span_exporter)  # before anything starts: a missing extra stops here
    svc = build_service(settings, decision_log=decision_log, clock=clock, announce=announce)
    svc.decider.tracing = traces

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(svc.store.reload)
        shipping = start_shipping(svc.decision_log)  # None unless decision_log_ship is set
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(svc.store, svc.store.folder, settings.state_dir, settings.reload,
                                            settings.poll_interval, stop))
        poller = asyncio.create_task(svc.poller.run(stop)) if svc.poller is not None else None
        try:
            if svc.poller is not None and not svc.store.snapshot.active:
                # a first start with a bundle source: no connection is accepted before this worker has the set
                # (its siblings share the socket; a worker without one answered "no bundles loaded")
                await svc.poller.first_set(stop)
            if not svc.store.ready:
                log.error("not ready: %s", svc.store.not_ready_reason())
            for file, why in svc.store.refused.items():  # as of the last reload
                log.error("refused %s: %s", file, why)
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(watcher, 5)
            if poller is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(poller, settings.bundle_source_timeout + 5)
            svc.shadow.close()
            if decision_log is None:  # a log handed in (tests) belongs to the caller
                svc.decision_log.close()
            if traces is not None:
                traces.close()
            if shipping is not None:  # after the log's last records: they ship in the shipper's last round
                await asyncio.to_thread(shipping.stop)
            metrics_export.worker_stopped()

    app = FastAPI(title="Poortwachter", version=_version(), description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": "AuthZEN", "description": "OpenID AuthZEN Authorization API 1.0"},
                                {"name": "Native", "description": "Explanations and field filtering"},
                                {"name": "Bundles", "description": "Policy bundles (admin calls need a token)"},
                                {"name": "Operations", "description": "Health, readiness, metrics"}],
                  docs_url=None, redoc_url=None, **_NO_TELEMETRY)  # /docs from the package: mount_docs
    app.state.service = svc
    _problem_handlers(app)
    _mount_first(app, authzen.router, native.router, admin.router)
    _health_routes(app)
    mount_docs(app)
    metrics.known_endpoints(getattr(route, "path", "") for route in app.router.routes)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(LeanAuthZen)  # innermost: the two decision endpoints skip the router (service/lean.py)
    app.add_middleware(DurableAnswers, decision_log=svc.decision_log)  # answers wait for their records
    app.add_middleware(EdgeMiddleware, ids=svc.decider.request_ids)
    if traces is not None:  # outermost: the server span covers the whole request, the log wait included
        middleware, options = traces.middleware()
        app.add_middleware(middleware, **options)
    return app


def create_app_from_env() -> FastAPI:
    """uvicorn's factory in each worker process: the app, and the process tuned for serving."""
    app = create_app(settings_from_env(), announce=False)  # serve announced the key trust once
    tune_process(app.state.service)
    return app


def tune_process(svc: Service) -> None:
    """What changes the whole process, done by a server process only (never by an app a test makes): GC
    thresholds and a heap freeze after every bundle swap (service/heap.py), a short GIL switch interval so
    the decision log writer thread keeps up, and closing the decision log at interpreter exit."""
    heap.tune()
    svc.store.listeners.append(heap.settle)
    if svc.decision_log.durable:
        # The event loop holds the GIL while busy; by default another thread gets it only every 5 ms, and
        # every answer waits for the writer thread. 1 ms cuts the tail (bench/decision_log_cost.py).
        sys.setswitchinterval(min(sys.getswitchinterval(), WRITER_SWITCH_INTERVAL))
    atexit.register(svc.decision_log.close)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("poortwachter")
    except PackageNotFoundError:
        return "0"
