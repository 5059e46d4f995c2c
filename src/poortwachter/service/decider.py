"""The hot path: one decoded request → the AuthZEN answer, with cache, decision log and metrics.

This composes the core's own stages (parse_envelope → Catalog.select_for → derive_facts → evaluate)
so the cache can sit between facts and verdict; there is no policy logic here. Failure rules:

- a malformed request raises RequestError (a 400 for a single call, an error item in a batch);
- any other exception while deciding yields a *deny* naming the error, never an allow and never a
  5xx: a caller that gets an answer gets one that fails closed;
- an answer that cannot be written to the decision log is not given (DecisionLogUnavailable → 503).

A shadow candidate (service/shadow.py) is offered each decision only after its answer is computed;
the offer never blocks and nothing it does reaches the answer.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import Any

from .. import wire
from ..core.calendar import AMSTERDAM
from ..core.decide import derive_facts
from ..core.errors import RequestError
from ..core.facts import FactValue
from ..core.policy.compile import CompiledBundle
from ..core.policy.evaluate import Explanation, evaluate, explain
from ..core.request import Envelope, parse_envelope
from ..core.verdict import EVALUATION_ERROR, BundleRef
from . import metrics
from .cache import DecisionCache, key_of
from .decision_log import DecisionLog, NullSink
from .problems import item_error
from .shadow import ShadowRunner
from .store import BundleStore

log = logging.getLogger("poortwachter.decider")

Answer = dict[str, Any]
ROLE_FACTS = ("subject.relation", "subject.discipline", "subject.kind", "subject.role")
SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")


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
    """What the HTTP call adds to every decision event: its request id and W3C traceparent header."""

    request_id: str
    traceparent: str | None = None
    endpoint: str = "evaluation"


def _get(data: Any, *keys: str) -> Any:
    """data[k1][k2]… or None; decoded JSON objects are dicts (the exact type check is the cheap one)."""
    for key in keys:
        if type(data) is not dict:
            return None
        data = data.get(key)
    return data


def _check_nlgov(envelope: Envelope) -> None:
    """The NLGov profile keys go to the decision log whatever the bundle's vocabulary: they must be
    short strings (a W3C traceparent is 55 characters)."""
    for path, value in (("context.traceparent", envelope.context.get("traceparent")),
                        ("action.properties.processing_activity_id",
                         envelope.action.properties.get("processing_activity_id"))):
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= 256):
            raise RequestError(path, "a string of at most 256 characters", value)


class Decider:
    """Decides with the store's current snapshot; one instance per app (per worker process)."""

    def __init__(self, store: BundleStore, cache: DecisionCache, decision_log: DecisionLog,
                 default_bundle: str | None, clock: Callable[[], datetime] | None = None,
                 shadow: ShadowRunner | None = None) -> None:
        self.store = store
        self.shadow = shadow
        self.cache = cache
        self.log = decision_log
        self.default_bundle = default_bundle
        self.clock = clock or (lambda: datetime.now(AMSTERDAM))
        self.logging = not isinstance(getattr(decision_log, "sink", None), NullSink)  # 'off': no events to build
        self.ids = Ids()
        self.request_ids = Ids()

    # ------------------------------------------------------------------------------ deciding

    def _prepare(self, data: Any) -> tuple[Envelope, CompiledBundle, dict[str, FactValue]]:
        envelope = parse_envelope(data, self.clock())
        _check_nlgov(envelope)
        bundle = self.store.snapshot.catalog.select_for(envelope, self.default_bundle)
        return envelope, bundle, derive_facts(bundle, envelope)

    def bundle_for(self, data: Any) -> CompiledBundle:
        """The bundle that would decide ``data`` (its action is not looked at): for the searches that
        enumerate a vocabulary. RequestError for a malformed request or an unknown bundle."""
        probe = {**data, "action": {"name": "-"}} if isinstance(data, Mapping) else data
        return self.store.snapshot.catalog.select_for(parse_envelope(probe, self.clock()), self.default_bundle)

    def decide(self, data: Any, call: Call) -> Answer:
        """The answer to one request; RequestError when it is malformed."""
        started = perf_counter()
        try:
            envelope, bundle, facts = self._prepare(data)
            key = key_of(bundle.ref.revision, facts)
            entry = self.cache.get(key)
            if entry is None:
                verdict = evaluate(bundle, facts)
                entry = (verdict, wire.verdict_context(verdict))
                self.cache.put(key, entry)
        except RequestError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: deny, never 5xx
            return self._failed(data, call, exc)
        verdict, ctx = entry
        decision_id = self.ids.next()
        if self.logging:
            self.log.record(self._event(decision_id, call, data, envelope, facts, verdict.decision,
                                        verdict.deciding_rules, [o.id for o in verdict.obligations], bundle.ref, None))
        rule = verdict.reasons[0].rule if verdict.reasons else "none"
        metrics.observe_decision(bundle.ref.name, str(facts.get("action.name")), verdict.decision, rule,
                                 perf_counter() - started)
        shadow = self.shadow
        if shadow is not None and shadow.tracks:
            shadow.offer(bundle, envelope, facts, decision_id)
        return {"decision": verdict.decision, "context": {"decision_id": decision_id, **ctx}}

    def decide_item(self, data: Any, call: Call) -> Answer:
        """Like decide, but a malformed request becomes a deny with ``context.error`` in place."""
        try:
            return self.decide(data, call)
        except RequestError as exc:
            metrics.observe_error("invalid-item")
            decision_id = self.ids.next()
            self.log.record(self._event(decision_id, call, data, None, {}, False, ("request-error",), [],
                                        None, str(exc)))
            return {"decision": False, "context": {"decision_id": decision_id, "error": item_error(exc)}}

    def decide_batch(self, items: list[Any], call: Call, semantic: str = "execute_all") -> list[Answer]:
        """Answers in request order; the short-circuit semantics stop after the deciding item."""
        answers: list[Answer] = []
        for data in items:
            answer = self.decide_item(data, call)
            answers.append(answer)
            if semantic == "deny_on_first_deny" and not answer["decision"]:
                break
            if semantic == "permit_on_first_permit" and answer["decision"]:
                break
        metrics.observe_batch(len(items))
        return answers

    def explain(self, data: Any, call: Call) -> dict[str, Any]:
        """/v1/decisions: the answer with derived facts and every rule's trace (no cache: the slow path)."""
        try:
            envelope, bundle, facts = self._prepare(data)
            explanation: Explanation = explain(bundle, facts)
        except RequestError:
            raise
        except Exception as exc:  # noqa: BLE001
            return self._failed(data, call, exc)
        verdict = explanation.verdict
        decision_id = self.ids.next()
        self.log.record(self._event(decision_id, call, data, envelope, facts, verdict.decision,
                                    verdict.deciding_rules, [o.id for o in verdict.obligations], bundle.ref, None))
        if self.shadow is not None and self.shadow.tracks:
            self.shadow.offer(bundle, envelope, facts, decision_id)
        return wire.explanation(explanation, decision_id)

    def _failed(self, data: Any, call: Call, exc: Exception) -> Answer:
        log.exception("internal error while deciding; answered deny")
        metrics.observe_error("evaluation-error")
        decision_id = self.ids.next()
        message = f"internal error while deciding ({type(exc).__name__}); denied"
        self.log.record(self._event(decision_id, call, data, None, {}, False, ("evaluation-error",), [],
                                    None, message))
        reason = {"rule": "evaluation-error", "effect": "deny", "text": wire.text(EVALUATION_ERROR),
                  "basis": [], "source": []}
        return {"decision": False, "context": {"decision_id": decision_id, "reasons": [reason], "obligations": [],
                                               "missing": [], "error": {"status": 500, "message": message}}}

    # ------------------------------------------------------------------------------ the log event

    def _event(self, decision_id: str, call: Call, data: Any, envelope: Envelope | None,
               facts: Mapping[str, FactValue], decision: bool, rules: tuple[str, ...], obligations: list[str],
               ref: BundleRef | None, error: str | None) -> dict[str, Any]:
        as_of = None
        if envelope is not None:
            subject_id, subject_type = envelope.subject.id, envelope.subject.type
            action, resource_id = envelope.action.type, envelope.resource.id
            context: Any = envelope.context
            as_of = envelope.time.isoformat()
        else:
            subject_id, subject_type = _get(data, "subject", "id"), _get(data, "subject", "type")
            action, resource_id = _get(data, "action", "name"), _get(data, "resource", "id")
            context = _get(data, "context")
        role = next((v for k in ROLE_FACTS if (v := facts.get(k)) not in (None, "none")), None)
        attestations = _get(context, "attestations")
        kinds = [_get(a, "kind") for a in attestations] if isinstance(attestations, list) else []
        emergency = next(({"by": _get(a, "by")} for a in attestations if _get(a, "kind") == "emergency"), None) \
            if isinstance(attestations, list) else None
        traceparent = _get(context, "traceparent")
        return {
            "time": self.clock().isoformat(),
            "as_of": as_of,
            "decision_id": decision_id,
            "request_id": call.request_id,
            "endpoint": call.endpoint,
            "subject_id": subject_id,
            "subject_type": subject_type,
            "subject_role": role,
            "organisation": _get(data, "subject", "properties", "organisation"),
            "action": action,
            "client_id": _get(data, "resource", "properties", "client", "id"),
            "resource_type": _get(data, "resource", "type"),
            "resource_id": resource_id,
            "resource_category": facts.get("resource.category", _get(data, "resource", "properties", "category")),
            "dossier_type": _get(data, "resource", "properties", "dossier_type"),
            "decision": decision,
            "rules": list(rules),
            "obligations": obligations,
            "bundle": ref.name if ref else None,
            "bundle_version": ref.version if ref else None,
            "bundle_revision": ref.revision if ref else None,
            "purpose": _get(context, "purpose"),
            "attestations": kinds,
            "emergency": emergency,
            "processing_activity_id": _get(data, "action", "properties", "processing_activity_id"),
            "traceparent": traceparent if isinstance(traceparent, str) else call.traceparent,
            "error": error,
        }
