"""OpenTelemetry traces: a server span per HTTP request and one span per decision, exported over OTLP.

Optional: the packages come with the ``[otel]`` extra (opentelemetry-sdk, the ASGI instrumentation and the
OTLP/HTTP exporter), and tracing is off unless an endpoint is configured (setting
``otel_exporter_otlp_endpoint``, or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; ``OTEL_SDK_DISABLED=true`` wins). Off, nothing of OpenTelemetry is
imported and the decider's hot path pays one ``is None`` test. On, with the extra missing, the service
refuses to start with a message that says what to install (fail loud: a setting is never silently ignored).

What a trace holds:

- the server span of the ASGI instrumentation, which continues the caller's W3C ``traceparent`` (and any
  propagator set in ``OTEL_PROPAGATORS``); probes and /metrics are not traced;
- below it, one ``poortwachter.decision`` span per decided answer: a batch, filter or search call has one
  per item. Its attributes are the bundle (name, version, revision), the action, the decision, the
  deciding rule ids, the obligation ids, the endpoint and the decision id (the key to the decision log
  record, which only the log's readers can open).

No personal data: subject, resource and client ids, purposes, attestations and request bodies never become
span attributes, and no request or response header is captured (tests/service/test_tracing.py checks the
exported spans for every id the request carried).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from time import time_ns
from typing import TYPE_CHECKING, Any

from ..core.decide import Prepared
from ..core.request import TYPE
from ..core.verdict import Verdict
from .settings import Settings, SettingsError

if TYPE_CHECKING:

    from .decider import Call

__all__ = ["EXTRA_MISSING", "Tracing", "check", "enabled", "setup"]

TRACER = "poortwachter"
SPAN = "poortwachter.decision"
UNTRACED = "healthz,readyz,metrics"  # the instrumentation's excluded_urls: probes and scrapes make no traces
EXTRA_MISSING = ("tracing is configured ({why}) but OpenTelemetry is not installed: install the extra "
                 "with pip install 'poortwachter[otel]', or unset it")


def enabled(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """Why tracing is on (the setting or variable that switched it on), or None when it is off."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if settings.otel_exporter_otlp_endpoint:
        return "otel_exporter_otlp_endpoint"
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if env.get(name):
            return name
    return None


def check(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """Like :func:`enabled`, but SettingsError when tracing is on and the [otel] extra is not installed
    (``serve`` calls it before it starts, so the message is the first thing an operator sees)."""
    why = enabled(settings, env)
    if why is not None:
        try:
            import opentelemetry.exporter.otlp.proto.http.trace_exporter
            import opentelemetry.instrumentation.asgi
            import opentelemetry.sdk.trace  # noqa: F401
        except ImportError:
            raise SettingsError(EXTRA_MISSING.format(why=why)) from None
    return why


class Tracing:
    """One tracer provider per app (never the process-global one: tests and embedders build several apps)."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry.trace import SpanKind

        self.provider = provider
        self.tracer = provider.get_tracer(TRACER)
        self._internal = SpanKind.INTERNAL

    def decided(self, call: Call, p: Prepared, verdict: Verdict, decision_id: str, seconds: float) -> None:
        """The span of one decision that took ``seconds`` and ended now, a child of the current span (not
        recorded, and no attributes built, when the request is not sampled)."""
        end = time_ns()
        span = self.tracer.start_span(SPAN, kind=self._internal, start_time=end - int(seconds * 1e9))
        if not span.is_recording():
            return
        ref = verdict.bundle
        span.set_attributes({
            "poortwachter.bundle": ref.name,
            "poortwachter.bundle.version": ref.version,
            "poortwachter.bundle.revision": ref.revision,
            "poortwachter.action": p.envelope.action[TYPE],
            "poortwachter.decision": "allow" if verdict.decision else "deny",
            "poortwachter.rules": list(verdict.deciding_rules),
            "poortwachter.obligations": list(verdict.obligation_ids),
            "poortwachter.endpoint": "history" if call.history else call.endpoint,
            "poortwachter.decision_id": decision_id,
        })
        span.end(end_time=end)

    def failed(self, call: Call, decision_id: str, error: str, seconds: float) -> None:
        """The span of a request answered deny because deciding failed (fail closed): marked as an error."""
        from opentelemetry.trace import Status, StatusCode

        end = time_ns()
        span = self.tracer.start_span(SPAN, kind=self._internal, start_time=end - int(seconds * 1e9), attributes={
            "poortwachter.decision": "deny", "poortwachter.rules": ["evaluation-error"],
            "poortwachter.endpoint": "history" if call.history else call.endpoint,
            "poortwachter.decision_id": decision_id, "error.type": error})
        span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end)

    def middleware(self) -> tuple[Any, dict[str, Any]]:
        """The ASGI instrumentation and its options, for ``app.add_middleware`` (outermost: the server span
        covers everything, the decision-log wait included)."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.metrics import NoOpMeterProvider

        return OpenTelemetryMiddleware, {"tracer_provider": self.provider, "meter_provider": NoOpMeterProvider(),
                                         "excluded_urls": UNTRACED, "exclude_spans": ["receive", "send"]}

    def close(self) -> None:
        """Export what is queued and stop (the app's shutdown)."""
        self.provider.shutdown()


def setup(settings: Settings, *, exporter: Any = None, env: Mapping[str, str] | None = None) -> Tracing | None:
    """Tracing for one app, or None when it is off. ``exporter``: a span exporter to use instead of OTLP
    (tests hand in an in-memory one; it switches tracing on and exports each span at once)."""
    if exporter is None and check(settings, env) is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({SERVICE_VERSION: _version()})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):  # OTEL_SERVICE_NAME wins
        resource = resource.merge(Resource({SERVICE_NAME: "poortwachter"}))
    provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER, default parent-based always-on
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        base = settings.otel_exporter_otlp_endpoint
        otlp = OTLPSpanExporter(endpoint=base.rstrip("/") + "/v1/traces") if base else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(otlp))  # a bounded queue; spans beyond it are dropped
    return Tracing(provider)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("poortwachter")
    except PackageNotFoundError:
        return "0"
