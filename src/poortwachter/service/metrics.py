"""Prometheus metrics of the decision service.

Routes call the small ``observe_*`` functions below and never touch prometheus objects directly, so
the exposition can change in one place. Exported (all names ``poortwachter_*``, base units)::

    request_duration_seconds{endpoint, code}              histogram end to end: request in → response ready,
                                                                    after the decision-log wait (what clients see)
    decisions_total{bundle, version, action, decision, rule} counter decision = allow | deny
    decision_duration_seconds{bundle, version}            histogram the decide part only: 5 µs .. 1 s
    batch_size                                            histogram evaluations per batch/filter/search call
    cache_requests_total{result}                          counter   result = hit | miss
    request_errors_total{kind}                            counter   invalid-request, decision-log-unavailable, ...
    bundle_info{bundle, version, revision}                gauge     1 while that version is active
    bundles_active                                        gauge     number of active bundle versions
    bundle_last_reload_timestamp_seconds                  gauge     when a bundle was last loaded successfully
    bundle_loads_total{bundle, version, result}           counter   result = success | failure (each new refusal)
    bundle_refused_artifacts                              gauge     files in the bundle folder refused now
    bundle_revoked_total{bundle, version}                 counter   active versions deactivated: key removed
    bundle_watcher_failing                                gauge     1 while hot reload cannot watch (retrying)
    bundle_source_last_success_timestamp_seconds{source}  gauge     the bundle source last answered usably
    bundle_source_errors_total{cause}                     counter   cause = network | http | format | digest |
                                                                    verification | downgrade | write
    bundle_source_info{source, digest}                    gauge     1 for the pulled set in force (manifest digest)
    decision_log_records_total{result}                    counter   result = written | failed
    decision_log_flush_duration_seconds                   histogram one group commit (write + fsync)
    decision_log_flush_records                            histogram records per group commit
    decision_log_healthy                                  gauge     0 while the log cannot be written (or is stuck/dead)
    decision_log_wait_seconds                             histogram a request waited for room in a full log queue
    decision_log_timeouts_total{stage}                    counter   stage = queue | durable: a wait passed its limit
    shadow_decisions_total{bundle, version, result}       counter   result = same | different | dropped | error

One label name for a bundle everywhere: ``bundle`` (its name), with ``version`` beside it. Other
areas add their series below in a section of their own, through the same :class:`_Bounded` guards.
docs/observability.md lists every series.

Label values are bounded: bundle names, versions, revisions, actions and rule ids come from loaded,
signed bundles, never from a client; error kinds are code constants. As a last guard every label
takes at most ``MAX_LABEL_VALUES`` distinct values and at most 120 characters; the rest become
``other``. No label ever holds an id of a person, client, request or decision.

A call that decides many requests (batch, filter, search) tallies its decision and cache metrics in
plain numbers and adds them when it is done (:func:`tallied`): a scrape sees them once it is answered,
exactly as if each had been counted on its own.

Several worker processes (``poortwachter serve --workers N``): ``serve`` calls
:func:`.metrics_export.prepare_multiprocess` before the workers start, which points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh folder; each worker then writes its samples there and ``/metrics`` (in any worker) aggregates all
of them: counters and histograms are summed, gauges take the mode noted at their definition.
"""

from __future__ import annotations

import contextlib
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import Scope

MAX_LABEL_VALUES = 200  # per label: a bundle set of a few hundred rules stays exact
MAX_LABEL_CHARS = 120

REQUEST_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 7.5e-3, 1e-2, 1.5e-2, 2.5e-2, 5e-2, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENCY_BUCKETS = (5e-6, 1e-5, 2e-5, 3e-5, 5e-5, 7.5e-5, 1e-4, 1.5e-4, 2.5e-4, 5e-4, 7.5e-4,
                   1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
FLUSH_BUCKETS = (5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.5, 1.0)
FLUSH_RECORD_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024)

REQUEST_SECONDS = Histogram("poortwachter_request_duration_seconds",
                            "End to end: from the request's arrival to its response being ready to send, including "
                            "the wait for the decision log (what a client sees, less the network).",
                            ["endpoint", "code"], buckets=REQUEST_BUCKETS)
DECISIONS = Counter("poortwachter_decisions_total", "Decisions answered, by deciding rule (the first reason).",
                    ["bundle", "version", "action", "decision", "rule"])
DECISION_SECONDS = Histogram("poortwachter_decision_duration_seconds",
                             "The decide part of a request or batch item (parse, facts, cache, evaluate); without "
                             "the decision-log wait (see request_duration_seconds).",
                             ["bundle", "version"], buckets=LATENCY_BUCKETS)
BATCH_SIZE = Histogram("poortwachter_batch_size", "Evaluations per batch call, items per filter/search call.",
                       buckets=BATCH_BUCKETS)
CACHE = Counter("poortwachter_cache_requests_total", "Decision cache lookups.", ["result"])
ERRORS = Counter("poortwachter_request_errors_total", "Refused requests and internal errors, by kind.", ["kind"])
BUNDLE_INFO = Gauge("poortwachter_bundle_info", "1 for each active bundle version.",
                    ["bundle", "version", "revision"], multiprocess_mode="livemax")
BUNDLES_ACTIVE = Gauge("poortwachter_bundles_active", "Active bundle versions in this process.",
                       multiprocess_mode="livemin")
BUNDLE_RELOADED = Gauge("poortwachter_bundle_last_reload_timestamp_seconds",
                        "Unix time a bundle was last loaded successfully.", multiprocess_mode="livemax")
BUNDLE_LOADS = Counter("poortwachter_bundle_loads_total", "Bundle artifact loads, successful or refused.",
                       ["bundle", "version", "result"])
BUNDLE_REFUSED = Gauge("poortwachter_bundle_refused_artifacts",
                       "Artifact files in the bundle folder refused at the last reload (the last good version of "
                       "each stays active); 0 when every file loads.", multiprocess_mode="livemax")
BUNDLE_REVOKED = Counter("poortwachter_bundle_revoked_total",
                         "Active bundle versions deactivated because their signing key is no longer trusted.",
                         ["bundle", "version"])
WATCHER_FAILING = Gauge("poortwachter_bundle_watcher_failing",
                        "1 while hot reload is on but the bundle folder cannot be watched (the watcher retries).",
                        multiprocess_mode="livemax")
SIBLINGS_APART = Gauge("poortwachter_bundle_workers_apart",
                       "1 while this worker decides with another bundle set than a sibling worker for longer than "
                       "the convergence grace period (its /readyz fails).", multiprocess_mode="livemax")
SOURCE_SUCCESS = Gauge("poortwachter_bundle_source_last_success_timestamp_seconds",
                       "Unix time the bundle source (setting bundle_source) last answered with a usable or unchanged "
                       "set; only the polling worker reports it.", ["source"], multiprocess_mode="livemax")
SOURCE_ERRORS = Counter("poortwachter_bundle_source_errors_total",
                        "Failed polls of the bundle source, by cause (the set in force stays).", ["cause"])
SOURCE_INFO = Gauge("poortwachter_bundle_source_info",
                    "1 for the pulled bundle set in force (its manifest or index digest), 0 for earlier ones.",
                    ["source", "digest"], multiprocess_mode="livemax")
LOG_RECORDS = Counter("poortwachter_decision_log_records_total", "Decision log records written or failed.",
                      ["result"])
LOG_FLUSH_SECONDS = Histogram("poortwachter_decision_log_flush_duration_seconds",
                              "One group commit of the decision log: serialise, write, fsync.", buckets=FLUSH_BUCKETS)
LOG_FLUSH_RECORDS = Histogram("poortwachter_decision_log_flush_records", "Records per decision log group commit.",
                              buckets=FLUSH_RECORD_BUCKETS)
LOG_HEALTHY = Gauge("poortwachter_decision_log_healthy", "1 while the decision log accepts records, else 0.",
                    multiprocess_mode="livemin")
LOG_HEALTHY.set(1)
LOG_WAIT_SECONDS = Histogram("poortwachter_decision_log_wait_seconds",
                             "Time a request waited for room in the full decision log queue (back-pressure).",
                             buckets=FLUSH_BUCKETS)
LOG_TIMEOUTS = Counter("poortwachter_decision_log_timeouts_total",
                       "Requests refused because a decision log wait passed decision_log_wait_timeout.", ["stage"])
SHADOW = Counter("poortwachter_shadow_decisions_total",
                 "Decisions a shadow candidate bundle was compared on (service/shadow.py): same or different "
                 "answer, dropped (shadow queue full) or error.", ["bundle", "version", "result"])

_HIT = CACHE.labels("hit")
_MISS = CACHE.labels("miss")
_WRITTEN = LOG_RECORDS.labels("written")
_FAILED = LOG_RECORDS.labels("failed")


class _Bounded:
    """Caps the distinct values of one label; beyond the cap a value is reported as ``other``."""

    __slots__ = ("_lock", "_seen")

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(value) > MAX_LABEL_CHARS:
            return "other"
        with self._lock:
            if len(self._seen) >= MAX_LABEL_VALUES:
                return "other"
            self._seen.add(value)
        return value


_bundle, _version, _action, _rule, _kind = _Bounded(), _Bounded(), _Bounded(), _Bounded(), _Bounded()
_children: dict[tuple[str, str, str, bool, str], tuple[Counter, Histogram]] = {}
_active: set[tuple[str, str, str]] = set()
_active_lock = threading.Lock()
_endpoints: set[str] = set()  # the app's route paths (templates): the only values of ``endpoint``
_request_children: dict[tuple[str, int], Histogram] = {}


def known_endpoints(paths: Iterable[str]) -> None:
    """The route paths of the app; any other request path is counted as ``unmatched``."""
    _endpoints.update(paths)


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """One answered HTTP request, end to end (called as its response starts, after the decision-log wait).
    ``endpoint`` is the route's path as the app declares it (``/v1/bundles/{name}``), never the raw path
    a caller sent."""
    path = scope.get("path", "")
    if path not in _endpoints:
        path = getattr(scope.get("route"), "path", None)
        if path not in _endpoints:
            path = "unmatched"
    key = (path, status)
    child = _request_children.get(key)
    if child is None:
        child = REQUEST_SECONDS.labels(path, str(status))
        if len(_request_children) < MAX_LABEL_VALUES:
            _request_children[key] = child
    child.observe(seconds)


def observe_decision(bundle: str, version: str, action: str, decision: bool, rule: str, seconds: float) -> None:
    """One decision; the hot path: label children are cached, so this is two dict lookups and two adds
    (within :func:`tallied`: two counts in plain numbers)."""
    key = (bundle, version, action, decision, rule)
    pair = _children.get(key)
    if pair is None:
        b, v = _bundle(bundle), _version(version)
        pair = (DECISIONS.labels(b, v, _action(action), "allow" if decision else "deny", _rule(rule)),
                DECISION_SECONDS.labels(b, v))
        if len(_children) < 10 * MAX_LABEL_VALUES:
            _children[key] = pair
    tally = _TALLY.get()
    if tally is None:
        pair[0].inc()
        pair[1].observe(seconds)
        return
    counter, histogram = pair
    tally.decisions[counter] = tally.decisions.get(counter, 0) + 1
    counts = tally.durations.get(histogram)
    if counts is None:
        counts = tally.durations[histogram] = [0.0] * (len(_LATENCY_BOUNDS) + 1)
    counts[bisect_left(_LATENCY_BOUNDS, seconds)] += 1  # the first bucket whose bound is >= seconds
    counts[-1] += seconds


def observe_batch(size: int) -> None:
    BATCH_SIZE.observe(size)


def observe_cache(hit: bool) -> None:
    tally = _TALLY.get()
    if tally is None:
        (_HIT if hit else _MISS).inc()
    elif hit:
        tally.hits += 1
    else:
        tally.misses += 1


class Tally:
    """The decision metrics of one call that decides many requests, counted in plain numbers and added
    to the series once, when the call is done (:func:`tallied`). A prometheus child's ``inc`` and
    ``observe`` each take a lock, and in a multi-worker server write to a shared file: the decision
    counter, its duration histogram and the cache counter cost 2.5 µs of every batch item (4.2 µs with
    several workers), the tally 0.5 µs (issue 16)."""

    __slots__ = ("decisions", "durations", "hits", "misses")

    def __init__(self) -> None:
        self.decisions: dict[Counter, int] = {}
        #: per histogram child: the observations in each bucket (non-cumulative, as the child keeps them),
        #: then their sum
        self.durations: dict[Histogram, list[float]] = {}
        self.hits = 0
        self.misses = 0

    def add(self) -> None:
        """Into the series, as the same observations made one by one would have."""
        for counter, n in self.decisions.items():
            counter.inc(n)
        for histogram, counts in self.durations.items():
            for bucket, seen in zip(histogram._buckets, counts):  # noqa: SLF001 - see tests/service/test_metrics_tally.py
                if seen:
                    bucket.inc(seen)
            histogram._sum.inc(counts[-1])  # noqa: SLF001
        if self.hits:
            _HIT.inc(self.hits)
        if self.misses:
            _MISS.inc(self.misses)


@contextlib.contextmanager
def tallied() -> Iterator[Tally]:
    """Within: this task's (or thread's) decision and cache metrics are tallied, and added to the series
    when it ends, however it ends. A scrape meanwhile sees the call's decisions once it is done."""
    tally = Tally()
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)
        tally.add()


_TALLY: ContextVar[Tally | None] = ContextVar("poortwachter_metrics_tally", default=None)
_LATENCY_BOUNDS = (*(float(b) for b in LATENCY_BUCKETS), float("inf"))


def observe_error(kind: str) -> None:
    ERRORS.labels(_kind(kind)).inc()


def bundle_loaded(name: str, version: str, revision: str, ok: bool) -> None:
    """A bundle artifact was loaded (ok) and is now active, or was refused (not ok; the version as far as
    the file's name tells it, '' when it does not)."""
    BUNDLE_LOADS.labels(_bundle(name), _version(version), "success" if ok else "failure").inc()
    if ok:
        BUNDLE_INFO.labels(_bundle(name), _version(version), revision).set(1)
        BUNDLE_RELOADED.set(time.time())
        with _active_lock:
            _active.add((name, version, revision))
            BUNDLES_ACTIVE.set(len(_active))


def bundle_retired(name: str, version: str, revision: str) -> None:
    """A version left the active set. Set to 0 rather than removed: with several worker processes a
    removed series would keep its last value in the shared files."""
    BUNDLE_INFO.labels(_bundle(name), _version(version), revision).set(0)
    with _active_lock:
        _active.discard((name, version, revision))
        BUNDLES_ACTIVE.set(len(_active))


def bundle_refused(count: int) -> None:
    BUNDLE_REFUSED.set(count)


def bundle_revoked(name: str, version: str) -> None:
    BUNDLE_REVOKED.labels(_bundle(name), _version(version)).inc()


def watcher_failing(failing: bool) -> None:
    WATCHER_FAILING.set(1 if failing else 0)


_source = _Bounded()
_source_digest: dict[str, str] = {}


def source_succeeded(source: str, digest: str, at: float) -> None:
    """The polling worker reached the bundle source; ``digest`` names the set in force (code-bounded labels:
    one configured source, a digest per published set)."""
    SOURCE_SUCCESS.labels(_source(source)).set(at)
    before = _source_digest.get(source)
    if before != digest:
        if before:
            SOURCE_INFO.labels(_source(source), before).set(0)
        if digest:
            SOURCE_INFO.labels(_source(source), digest).set(1)
        _source_digest[source] = digest


def source_failed(cause: str) -> None:
    """``cause``: network, http, format, digest, verification, downgrade or write (code constants)."""
    SOURCE_ERRORS.labels(cause).inc()


def siblings_apart(apart: bool) -> None:
    SIBLINGS_APART.set(1 if apart else 0)


def decision_log_flushed(records: int, seconds: float, ok: bool) -> None:
    """Called by the decision log writer thread after each group commit."""
    (_WRITTEN if ok else _FAILED).inc(records)
    LOG_FLUSH_SECONDS.observe(seconds)
    LOG_FLUSH_RECORDS.observe(records)


def decision_log_health(healthy: bool) -> None:
    LOG_HEALTHY.set(1 if healthy else 0)


def decision_log_waited(seconds: float) -> None:
    """A request found the decision log queue full and waited this long for room."""
    LOG_WAIT_SECONDS.observe(seconds)


def decision_log_timeout(stage: str) -> None:
    """``stage``: queue (no room in time) or durable (record not written in time); code constants."""
    LOG_TIMEOUTS.labels(stage).inc()


_shadow_children: dict[tuple[str, str, str], Counter] = {}


def shadow_result(bundle: str, version: str, result: str, count: int = 1) -> None:
    """``result``: same, different, dropped or error (code constants); ``bundle`` and ``version``: the
    candidate's. Called per dropped decision on the answer path, so label children are cached."""
    key = (bundle, version, result)
    child = _shadow_children.get(key)
    if child is None:
        child = SHADOW.labels(_bundle(bundle), _version(version), result)
        if len(_shadow_children) < MAX_LABEL_VALUES:
            _shadow_children[key] = child
    child.inc(count)
