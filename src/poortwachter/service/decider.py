"""The hot path: one decoded request → the AuthZEN answer, with cache, decision log and metrics.

The core decides (``core.decide.prepare`` then ``evaluate``); this module only carries: it takes one
snapshot of the bundle store per call (``catalog()``; a batch, filter or search keeps it for all its
items: service/batch.py), puts the cache
between facts and verdict, and hands every answer to one tail (decision log, metrics, shadow).
Failure rules:

- a malformed request raises RequestError (a 400 for a single call, an error item in a batch); a
  request the deployment refuses to decide as asked (routing.Refused: dossier type, clock, pinned
  version) likewise, counted by cause;
- any other exception while deciding yields a *deny* naming the error, never an allow and never a
  5xx: a caller that gets an answer gets one that fails closed;
- an answer that cannot be written to the decision log is not given (DecisionLogUnavailable → 503).

The log event is built from validated values only (the parsed envelope and the derived facts), and
what is copied from a request that failed validation is checked to be a short string first: no value a
caller sends can reach the log writer unbounded.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ..core import answer
from ..core.calendar import AMSTERDAM
from ..core.catalog import Catalog
from ..core.decide import Prepared, prepare
from ..core.errors import RequestError
from ..core.policy.compile import CompiledBundle
from ..core.policy.evaluate import evaluate, explain
from ..core.request import PROPERTIES, Envelope, parse_envelope
from ..core.routing import Refused, Routing
from ..core.verdict import EVALUATION_ERROR, Verdict
from ..logbook.record import DecisionEvent, Item, Subject
from . import metrics
from .cache import DecisionCache, key_of
from .decision_log import DecisionLog
from .problems import Problem, item_error
from .shadow import ShadowRunner
from .store import BundleStore

if TYPE_CHECKING:
    from .tracing import Tracing

logger = logging.getLogger("poortwachter.decider")

Answer = dict[str, Any]
ROLE_FACTS = ("subject.relation", "subject.discipline", "subject.kind", "subject.role")
SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
MAX_LOGGED_TEXT = 256  # ids, purposes and trace ids are short; anything longer is not copied into the log
_new = tuple.__new__  # builds a NamedTuple from its values in field order (bound once)


class Ids:
    """Decision and request ids: a random per-process prefix and a counter. Unique across workers
    and restarts, and far cheaper than a uuid4 per decision."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._count = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._count):x}"


@dataclass(frozen=True, slots=True)
class Call:
    """What the HTTP call adds to every decision event: its request id, W3C traceparent header, the
    endpoint, and whether it asks about the past (history credential: logged as a look, not an access)."""

    request_id: str
    traceparent: str | None = None
    endpoint: str = "evaluation"
    history: bool = False


def _short(value: Any) -> str | None:
    """``value`` if it is a short string, else None: the only way a raw value reaches the log."""
    return value if type(value) is str and len(value) <= MAX_LOGGED_TEXT else None


def _get(data: Any, *keys: str) -> Any:
    """data[k1][k2]… or None; decoded JSON objects are dicts (the exact type check is the cheap one)."""
    for key in keys:
        if type(data) is not dict:
            return None
        data = data.get(key)
    return data


def _attestation_kinds(facts: Mapping[str, object], known: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The kinds of attestation made, sorted: one lookup per kind the vocabulary knows
    (``CompiledBundle.attestations``), where a scan of every fact cost a sort and a generator."""
    return tuple([kind for kind, key in known if facts.get(key) is True])


def _role(facts: Mapping[str, object]) -> str | None:
    """Who asked in the log's terms: the first of relation, discipline, kind or role that is given."""
    for key in ROLE_FACTS:
        value = facts.get(key)
        if type(value) is str and value != "none":
            return value
    return None


def _check_nlgov(envelope: Envelope) -> None:
    """The NLGov profile keys go to the decision log whatever the bundle's vocabulary: they must be
    short strings (a W3C traceparent is 55 characters)."""
    for path, value in (("context.traceparent", envelope.context.get("traceparent")),
                        ("action.properties.processing_activity_id",
                         envelope.action[PROPERTIES].get("processing_activity_id"))):
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= MAX_LOGGED_TEXT):
            raise RequestError(path, f"a string of at most {MAX_LOGGED_TEXT} characters", value)


class Decider:
    """Decides with one snapshot of the store per call; one instance per app (per worker process)."""

    def __init__(self, store: BundleStore, cache: DecisionCache, decision_log: DecisionLog, routing: Routing,
                 clock: Callable[[], datetime] | None = None, shadow: ShadowRunner | None = None) -> None:
        self.store = store
        self.shadow = shadow
        self.cache = cache
        self.decision_log = decision_log
        self.routing = routing
        self.history_routing = Routing.replay(routing.bundles)  # the past: any time, pinned versions
        self.clock = clock or (lambda: datetime.now(AMSTERDAM))
        self.logging = not decision_log.discards  # 'off': no events to build
        self.ids = Ids()
        self.request_ids = Ids()
        self.tracing: Tracing | None = None  # service/tracing.py: a span per decision when tracing is on
        self._stamped: tuple[datetime, str] | None = None  # the last moment written out (_stamp)

    # ------------------------------------------------------------------------------ deciding

    def _prepare(self, catalog: Catalog, data: Any, call: Call, now: datetime) -> Prepared:
        prepared = prepare(catalog, data, now, self.history_routing if call.history else self.routing)
        _check_nlgov(prepared.envelope)
        return prepared

    def catalog(self) -> Catalog:
        """The bundles in force now: a call that decides several requests takes this once and keeps it,
        so a batch, filter or search is decided by one revision even if the store swaps meanwhile.
        A 503 problem while no bundle is loaded at all: the worker cannot decide, and it is not the caller's
        mistake (a 400 would tell them their bundle name is wrong)."""
        catalog = self.store.snapshot.catalog
        if not catalog.versions:
            metrics.observe_error("no-bundle-loaded")
            raise Problem(503, "no-bundle-loaded", "no policy bundle is loaded in this worker yet (starting, or "
                          "every bundle file was refused: /readyz says which); nothing was decided, retry",
                          headers={"Retry-After": "1"})
        return catalog

    def bundle_for(self, data: Any, catalog: Catalog) -> CompiledBundle:
        """The bundle that would decide ``data`` (its action is not looked at): for the searches that
        enumerate a vocabulary. RequestError for a malformed request or one that may not be decided."""
        probe = {**data, "action": {"name": "-"}} if isinstance(data, Mapping) else data
        return catalog.select_for(parse_envelope(probe, self.clock()), self.routing)

    def decide(self, data: Any, call: Call, catalog: Catalog | None = None, now: datetime | None = None) -> Answer:
        """The answer to one request; RequestError when it is malformed or refused. ``now``: the moment of
        a call that decides several requests (decide_paced), else the clock is read: one reading is the
        decision's moment and its record's time."""
        started = perf_counter()
        if now is None:
            now = self.clock()
        catalog = catalog if catalog is not None else self.catalog()
        try:
            p = self._prepare(catalog, data, call, now)
            key = key_of(p.bundle.ref.revision, p.facts)
            entry = self.cache.get(key)
            if entry is None:
                verdict = evaluate(p.bundle, p.facts)
                entry = (verdict, answer.verdict_context(verdict))
                self.cache.put(key, entry)
        except RequestError:  # a 400 problem, counted by its kind where it is answered
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: deny, never 5xx
            return self._failed(data, call, exc, started, now)
        verdict, ctx = entry
        decision_id = self._tail(call, p, verdict, started, now)
        ref = p.bundle.ref
        metrics.observe_decision(ref.name, ref.version, str(p.facts.get("action.name")), verdict.decision,
                                 verdict.reasons[0].rule if verdict.reasons else "none", perf_counter() - started)
        return {"decision": verdict.decision, "context": {"decision_id": decision_id, **ctx}}

    def decide_item(self, data: Any, call: Call, catalog: Catalog | None = None, now: datetime | None = None) -> Answer:
        """Like decide, but a malformed or refused request becomes a deny with ``context.error`` in place."""
        if now is None:
            now = self.clock()
        try:
            return self.decide(data, call, catalog, now)
        except RequestError as exc:
            metrics.observe_error(exc.cause if isinstance(exc, Refused) else "invalid-item")
            decision_id = self.ids.next()
            if self.logging:
                event = self._error_event(decision_id, call, data, "request-error", str(exc), now)
                self.decision_log.record(event)
            return {"decision": False, "context": {"decision_id": decision_id, "error": item_error(exc)}}

    def explain(self, data: Any, call: Call) -> dict[str, Any]:
        """/v1/decisions: the answer with derived facts and every rule's trace (no cache: the slow path).
        With ``call.history`` the request may ask about another time or a pinned version."""
        started, now = perf_counter(), self.clock()
        catalog = self.catalog()
        try:
            p = self._prepare(catalog, data, call, now)
            explanation = explain(p.bundle, p.facts)
        except RequestError:
            raise
        except Exception as exc:  # noqa: BLE001
            return self._failed(data, call, exc, started, now)
        return answer.explanation(explanation, self._tail(call, p, explanation.verdict, started, now))

    # ------------------------------------------------------------------------------ the one tail

    def _tail(self, call: Call, p: Prepared, verdict: Verdict, started: float, now: datetime) -> str:
        """Every decided answer: a decision id, its log record, an offer to the shadow, a span if traced."""
        decision_id = self.ids.next()
        if self.logging:
            self.decision_log.record(self._event(decision_id, call, p, verdict, now))
        shadow = self.shadow
        if shadow is not None and shadow.tracks and not call.history:
            shadow.offer(p.bundle, p.envelope, p.facts, decision_id)
        if self.tracing is not None:
            self.tracing.decided(call, p, verdict, decision_id, perf_counter() - started)
        return decision_id

    def _failed(self, data: Any, call: Call, exc: Exception, started: float, now: datetime) -> Answer:
        logger.exception("internal error while deciding; answered deny")
        metrics.observe_error("evaluation-error")
        decision_id = self.ids.next()
        message = f"internal error while deciding ({type(exc).__name__}); denied"
        if self.logging:
            self.decision_log.record(self._error_event(decision_id, call, data, "evaluation-error", message, now))
        if self.tracing is not None:
            self.tracing.failed(call, decision_id, type(exc).__name__, perf_counter() - started)
        reason = {"rule": "evaluation-error", "effect": "deny", "text": answer.text(EVALUATION_ERROR),
                  "basis": [], "source": []}
        return {"decision": False, "context": {"decision_id": decision_id, "reasons": [reason], "obligations": [],
                                               "missing": [], "error": {"status": 500, "message": message}}}

    # ------------------------------------------------------------------------------ log events

    def _event(self, decision_id: str, call: Call, p: Prepared, verdict: Verdict, now: datetime) -> DecisionEvent:
        """The record of a decided request, from the parsed envelope and the derived facts; ``now`` is the
        clock reading the decision was taken at."""
        envelope, facts = p.envelope, p.facts
        (subject_type, subject_id, subject), (action, _, action_properties), (item_type, item_id, resource) = \
            envelope.subject, envelope.action, envelope.resource
        context = envelope.context
        kinds = _attestation_kinds(facts, p.bundle.attestations)
        by = None
        if "emergency" in kinds:
            by = next((_get(a, "by") for a in context.get("attestations") or () if _get(a, "kind") == "emergency"), None)
        traceparent = context.get("traceparent")  # checked by _check_nlgov
        category = facts.get("resource.category")
        # Built positionally, in the order of the NamedTuples' fields: their generated constructors take
        # keywords through a Python function (an event 6.0 → 4.2 µs; tests/service/test_authzen.py checks
        # every field by name).
        return _new(DecisionEvent, (
            decision_id, call.request_id, "history" if call.history else call.endpoint, verdict.decision,
            self._stamp(now), envelope.time.isoformat(),  # time, as_of
            _new(Subject, (_short(subject_id), _short(subject_type), _role(facts))),
            _short(subject.get("organisation")), action,
            _short(_get(resource, "client", "id")),  # client
            _new(Item, (_short(item_type), _short(item_id), category if type(category) is str and category != "none"
                        else None, _short(resource.get("dossier_type")))),
            verdict.deciding_rules, verdict.obligation_ids, verdict.bundle,  # rules, obligations, bundle
            _short(facts.get("context.purpose", context.get("purpose"))), kinds,  # purpose, attestations
            "emergency" in kinds, _short(by), action_properties.get("processing_activity_id"),
            traceparent if traceparent is not None else call.traceparent, ()))  # ..., traceparent, errors

    def _error_event(self, decision_id: str, call: Call, data: Any, rule: str, error: str,
                     now: datetime) -> DecisionEvent:
        """The record of a request that was not decided: who and what as far as they are short strings."""
        return DecisionEvent.undecided(decision_id, call.request_id, "history" if call.history else call.endpoint,
                                       self._stamp(now), data, rule, error, call.traceparent)

    def _stamp(self, now: datetime) -> str:
        """``now`` in ISO 8601, written once for all the decisions of a call that share the moment."""
        stamped = self._stamped
        if stamped is None or stamped[0] is not now:
            stamped = self._stamped = (now, now.isoformat())
        return stamped[1]
