"""One decision, one JSON line: the NEN 7513 record of who did what on which client's dossier.

NEN 7513:2024 (seed 002, bijlage C, lines 3456-3479) asks at least: the event, its time, which client,
which user caused it and on whose behalf. A record (schema ``v`` 1) holds::

    v, time                     schema version; when the decision was taken (ISO 8601 with offset, µs)
    decision_id, request_id     the answer's decision id; the caller's X-Request-ID (or ours)
    endpoint                    which API answered (e.g. /access/v1/evaluation)
    subject {id, type, role}    who asked; role = relation (person), discipline (professional) or kind
    organisation                on whose behalf (the professional's organisation), when given
    action, item {type, id, category, dossier_type}
    client                      the client id, pseudonymised (see pseudonym.py)
    decision, rules, obligations  allow/deny, the deciding rules, the duties attached
    bundle {name, version, revision}
    purpose, emergency          context.purpose; the emergency attestation ({by}) if one was made
    attestations                the kinds of every attestation the professional made
    processing_activity_id, traceparent   NLGov profile keys, when given
    as_of                       context.time the decision was taken for (may differ from time)
    errors                      why an item could not be evaluated (then decision is deny)
    prev                        SHA-256 of the previous line of the same file (tamper evidence)

The request path hands over a :class:`DecisionEvent` (references, no copying); the writer thread
turns it into the record, so building the JSON costs the request nothing.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..core.request import Envelope
from ..core.verdict import Verdict

SCHEMA_VERSION = 1
MAX_VALUE_CHARS = 256  # ids come from callers: a record must stay a record, not a dump


def _s(value: Any) -> str | None:
    """A caller-supplied value as a bounded string (numbers and booleans spelled out; else None)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float, bool)):
        text = str(value)
    else:
        return None
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def utc_iso(epoch_ns: int) -> str:
    return datetime.fromtimestamp(epoch_ns / 1e9, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _role(props: Mapping[str, Any]) -> str | None:
    for key in ("relation", "discipline", "kind", "role"):
        if props.get(key) is not None:
            return _s(props.get(key))
    return None


def _emergency(context: Mapping[str, Any]) -> dict[str, Any] | None:
    atts = context.get("attestations")
    if not isinstance(atts, list):
        return None
    for a in atts:
        if isinstance(a, Mapping) and a.get("kind") == "emergency":
            return {"by": _s(a.get("by"))}
    return None


def _parts(subject: Mapping[str, Any], action: Mapping[str, Any], resource: Mapping[str, Any],
           context: Mapping[str, Any]) -> dict[str, Any]:
    sp, ap, rp = _m(subject.get("properties")), _m(action.get("properties")), _m(resource.get("properties"))
    client = rp.get("client")
    client_id = _s(_m(client).get("id")) if isinstance(client, Mapping) else _s(client)
    return {
        "subject": {"id": _s(subject.get("id")), "type": _s(subject.get("type")), "role": _role(sp)},
        "organisation": _s(sp.get("organisation")),
        "action": _s(action.get("name")),
        "client": client_id,
        "item": {"type": _s(resource.get("type")), "id": _s(resource.get("id")),
                 "category": _s(rp.get("category")), "dossier_type": _s(rp.get("dossier_type"))},
        "purpose": _s(context.get("purpose")),
        "emergency": _emergency(context),
        "attestations": [a.get("kind") for a in context.get("attestations") or []
                         if isinstance(a, Mapping)] if isinstance(context.get("attestations"), list) else [],
        "processing_activity_id": _s(ap.get("processing_activity_id")),
        "traceparent": _s(context.get("traceparent")),
    }


@dataclass(slots=True)
class DecisionEvent:
    """What the request path knows about one decision; expanded into a record off the hot path.

    Give either ``envelope`` (a parsed request) or ``raw`` (the request item as received, for an
    item that could not be parsed). ``verdict`` is None when no bundle decided (then: deny).
    """

    decision_id: str
    request_id: str | None
    endpoint: str
    decision: bool
    verdict: Verdict | None = None
    envelope: Envelope | None = None
    raw: Any = None
    errors: tuple[str, ...] = ()
    time_ns: int = 0

    def __post_init__(self) -> None:
        if not self.time_ns:
            self.time_ns = _time.time_ns()

    def record(self, pseudonymise: Callable[[str], str]) -> dict[str, Any]:
        if self.envelope is not None:
            e = self.envelope
            parts = _parts({"id": e.subject.id, "type": e.subject.type, "properties": e.subject.properties},
                           {"name": e.action.type, "properties": e.action.properties},
                           {"id": e.resource.id, "type": e.resource.type, "properties": e.resource.properties},
                           e.context)
            as_of: str | None = e.time.isoformat()
        else:
            raw = _m(self.raw)
            parts = _parts(_m(raw.get("subject")), _m(raw.get("action")), _m(raw.get("resource")),
                           _m(raw.get("context")))
            as_of = _s(_m(raw.get("context")).get("time"))
        v = self.verdict
        errors = list(self.errors) + (list(v.errors) if v is not None else [])
        record: dict[str, Any] = {
            "v": SCHEMA_VERSION,
            "time": utc_iso(self.time_ns),
            "decision_id": self.decision_id,
            "request_id": _s(self.request_id),
            "endpoint": self.endpoint,
            "subject": parts["subject"],
            "organisation": parts["organisation"],
            "action": parts["action"],
            "client": None if parts["client"] is None else pseudonymise(parts["client"]),
            "item": parts["item"],
            "decision": "allow" if self.decision else "deny",
            "rules": list(v.deciding_rules) if v is not None else [],
            "obligations": [o.id for o in v.obligations] if v is not None else [],
            "bundle": ({"name": v.bundle.name, "version": v.bundle.version, "revision": v.bundle.revision}
                       if v is not None else None),
            "purpose": parts["purpose"],
            "emergency": parts["emergency"],
            "attestations": parts["attestations"],
            "processing_activity_id": parts["processing_activity_id"],
            "traceparent": parts["traceparent"],
            "as_of": as_of,
        }
        if errors:
            record["errors"] = errors
        return record


def _when(value: Any) -> str:
    """The event's time as given when it is an ISO string (with its offset; readers parse offsets), else now."""
    return value if isinstance(value, str) and value else utc_iso(_time.time_ns())


def from_flat(event: Mapping[str, Any], pseudonymise: Callable[[str], str]) -> dict[str, Any]:
    """The service's flat event (subject_id, client_id, resource_id, ...) as a schema-1 record."""
    client = event.get("client_id")
    attestations = event.get("attestations") or []
    emergency = event.get("emergency")
    if emergency is None and isinstance(attestations, list) and "emergency" in attestations:
        emergency = {"by": None}
    error = event.get("error")
    record: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "time": _when(event.get("time")),
        "decision_id": event.get("decision_id"),
        "request_id": _s(event.get("request_id")),
        "endpoint": event.get("endpoint"),
        "subject": {"id": _s(event.get("subject_id")), "type": _s(event.get("subject_type")),
                    "role": _s(event.get("subject_role"))},
        "organisation": _s(event.get("organisation")),
        "action": _s(event.get("action")),
        "client": pseudonymise(client) if isinstance(client, str) and client else None,
        "item": {"type": _s(event.get("resource_type")), "id": _s(event.get("resource_id")),
                 "category": _s(event.get("resource_category")), "dossier_type": _s(event.get("dossier_type"))},
        "decision": "allow" if event.get("decision") is True else "deny",
        "rules": list(event.get("rules") or []),
        "obligations": list(event.get("obligations") or []),
        "bundle": ({"name": event.get("bundle"), "version": event.get("bundle_version"),
                    "revision": event.get("bundle_revision")} if event.get("bundle") else None),
        "purpose": _s(event.get("purpose")),
        "emergency": emergency,
        "attestations": [_s(a) for a in attestations] if isinstance(attestations, list) else [],
        "processing_activity_id": _s(event.get("processing_activity_id")),
        "traceparent": _s(event.get("traceparent")),
        "as_of": event.get("as_of"),
    }
    if error:
        record["errors"] = [str(error)]
    return record


def to_record(event: DecisionEvent | Mapping[str, Any], pseudonymise: Callable[[str], str]) -> dict[str, Any]:
    """A record from an event: a DecisionEvent, the service's flat event, or a record-shaped mapping
    (whose ``client`` is pseudonymised)."""
    if isinstance(event, DecisionEvent):
        return event.record(pseudonymise)
    if "subject_id" in event or "client_id" in event:
        return from_flat(event, pseudonymise)
    record = dict(event)
    record.setdefault("v", SCHEMA_VERSION)
    record["time"] = _when(record.get("time"))
    client = record.get("client")
    if isinstance(client, str):
        record["client"] = pseudonymise(client)
    return record
