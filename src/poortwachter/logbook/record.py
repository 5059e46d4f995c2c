"""One decision, one JSON line: the NEN 7513 record of who did what on which client's dossier.

NEN 7513:2024 (toolkit-jgz-2026 bijlage C) asks at least: the event, its time, which client,
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

Every field is built from a bounded value (security review, issue 17): strings are cut at
``MAX_VALUE_CHARS`` (error texts at ``MAX_ERROR_CHARS``), numbers and booleans are spelled out, lists
hold at most ``MAX_LIST_ITEMS`` short strings, and anything else a caller sent (an object, an array,
a 300-deep nesting, a 65-bit integer) becomes null. :func:`encode` turns an event into its JSON line
and never raises: a record that cannot be encoded anyway becomes an *error record* (the decision id
kept, ``encoding_error`` saying why) and is reported as not written, so its request is refused.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ..core.request import Envelope
from ..core.verdict import Verdict

SCHEMA_VERSION = 1
MAX_VALUE_CHARS = 256  # ids come from callers: a record must stay a record, not a dump
MAX_ERROR_CHARS = 1024  # an error text may quote what the caller sent
MAX_LIST_ITEMS = 64  # rules, obligations, attestation kinds, errors
MAX_DEPTH = 4  # of a record-shaped mapping handed in (tests, tools): deeper values become null
_INT_RANGE = 2**63  # orjson writes 64-bit integers; str() refuses integers of more than 4300 digits


def _s(value: Any, limit: int = MAX_VALUE_CHARS) -> str | None:
    """A caller-supplied value as a bounded string (numbers and booleans spelled out; else None)."""
    if type(value) is str and len(value) <= limit:  # the common case, first and cheapest
        return value
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or (isinstance(value, int) and -_INT_RANGE <= value < _INT_RANGE):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    else:
        return None
    return text if len(text) <= limit else text[:limit] + "…"


def _strs(value: Any, limit: int = MAX_VALUE_CHARS) -> list[str | None]:
    """A list of bounded strings (at most MAX_LIST_ITEMS, then a note how many were left out)."""
    if not isinstance(value, (list, tuple)) or not value:
        return []
    out = [_s(v, limit) for v in value[:MAX_LIST_ITEMS]]
    if len(value) > MAX_LIST_ITEMS:
        out.append(f"… {len(value) - MAX_LIST_ITEMS} more")
    return out


def _bounded(value: Any, depth: int = MAX_DEPTH) -> Any:
    """Any value as JSON that always encodes: bounded strings, 64-bit numbers, shallow short containers."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and -_INT_RANGE <= value < _INT_RANGE:
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, str):
        return _s(value)
    if depth <= 0:
        return None
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_LIST_ITEMS]
        return {str(_s(k) if isinstance(k, str) else k.__class__.__name__): _bounded(v, depth - 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [_bounded(v, depth - 1) for v in value[:MAX_LIST_ITEMS]]
    return None


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
    for a in atts[:MAX_LIST_ITEMS]:
        if isinstance(a, Mapping) and a.get("kind") == "emergency":
            return {"by": _s(a.get("by"))}
    return None


def _kinds(attestations: Any) -> list[str | None]:
    if not isinstance(attestations, list):
        return []
    return _strs([a.get("kind") if isinstance(a, Mapping) else None for a in attestations[:MAX_LIST_ITEMS + 1]])


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
        "attestations": _kinds(context.get("attestations")),
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
        errors = _strs(list(self.errors) + (list(v.errors) if v is not None else []), MAX_ERROR_CHARS)
        record: dict[str, Any] = {
            "v": SCHEMA_VERSION,
            "time": utc_iso(self.time_ns),
            "decision_id": _s(self.decision_id),
            "request_id": _s(self.request_id),
            "endpoint": _s(self.endpoint),
            "subject": parts["subject"],
            "organisation": parts["organisation"],
            "action": parts["action"],
            "client": None if parts["client"] is None else pseudonymise(parts["client"]),
            "item": parts["item"],
            "decision": "allow" if self.decision else "deny",
            "rules": _strs(list(v.deciding_rules)) if v is not None else [],
            "obligations": _strs([o.id for o in v.obligations]) if v is not None else [],
            "bundle": ({"name": _s(v.bundle.name), "version": _s(v.bundle.version), "revision": _s(v.bundle.revision)}
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
    return (_s(value) or "") if isinstance(value, str) and value else utc_iso(_time.time_ns())


def _client(value: Any, pseudonymise: Callable[[str], str]) -> str | None:
    client = _s(value) if isinstance(value, str) else None
    return pseudonymise(client) if client else None


def from_flat(event: Mapping[str, Any], pseudonymise: Callable[[str], str]) -> dict[str, Any]:
    """The service's flat event (subject_id, client_id, resource_id, ...) as a schema-1 record."""
    attestations = event.get("attestations") or []
    given = event.get("emergency")
    emergency = {"by": _s(given.get("by"))} if isinstance(given, Mapping) else None
    if emergency is None and (given is not None or (isinstance(attestations, list)
                                                    and "emergency" in attestations[:MAX_LIST_ITEMS])):
        emergency = {"by": None}
    error = event.get("error")
    bundle = _s(event.get("bundle"))
    record: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "time": _when(event.get("time")),
        "decision_id": _s(event.get("decision_id")),
        "request_id": _s(event.get("request_id")),
        "endpoint": _s(event.get("endpoint")),
        "subject": {"id": _s(event.get("subject_id")), "type": _s(event.get("subject_type")),
                    "role": _s(event.get("subject_role"))},
        "organisation": _s(event.get("organisation")),
        "action": _s(event.get("action")),
        "client": _client(event.get("client_id"), pseudonymise),
        "item": {"type": _s(event.get("resource_type")), "id": _s(event.get("resource_id")),
                 "category": _s(event.get("resource_category")), "dossier_type": _s(event.get("dossier_type"))},
        "decision": "allow" if event.get("decision") is True else "deny",
        "rules": _strs(event.get("rules")),
        "obligations": _strs(event.get("obligations")),
        "bundle": ({"name": bundle, "version": _s(event.get("bundle_version")),
                    "revision": _s(event.get("bundle_revision"))} if bundle else None),
        "purpose": _s(event.get("purpose")),
        "emergency": emergency,
        "attestations": _strs(attestations),
        "processing_activity_id": _s(event.get("processing_activity_id")),
        "traceparent": _s(event.get("traceparent")),
        "as_of": _s(event.get("as_of")),
    }
    if error:
        record["errors"] = [_s(error, MAX_ERROR_CHARS) or f"an error of type {type(error).__name__}"]
    return record


def to_record(event: DecisionEvent | Mapping[str, Any], pseudonymise: Callable[[str], str]) -> dict[str, Any]:
    """A record from an event: a DecisionEvent, the service's flat event, or a record-shaped mapping
    (whose ``client`` is pseudonymised)."""
    if isinstance(event, DecisionEvent):
        return event.record(pseudonymise)
    if "subject_id" in event or "client_id" in event:
        return from_flat(event, pseudonymise)
    record = {str(_s(k) if isinstance(k, str) else type(k).__name__): _bounded(v)
              for k, v in list(event.items())[:MAX_LIST_ITEMS]}
    record.setdefault("v", SCHEMA_VERSION)
    record["time"] = _when(event.get("time"))
    if "client" in event:
        record["client"] = _client(event.get("client"), pseudonymise)
    return record


def _decision_id(event: Any) -> str | None:
    try:
        value = event.decision_id if isinstance(event, DecisionEvent) else _m(event).get("decision_id")
        return _s(value)
    except Exception:  # noqa: BLE001 - a broken event still gets its error record
        return None


def encode(event: DecisionEvent | Mapping[str, Any], pseudonymise: Callable[[str], str],
           prev: str | None = None, *, chained: bool = True) -> tuple[bytes, bool]:
    """The event's JSON line (with ``prev``, the previous line's hash, when ``chained``) and whether it
    is the full record.

    Never raises: an event that cannot be rendered or encoded becomes an error record keeping its
    decision id (False), so one hostile or buggy event can neither kill the writer nor loop it.
    """
    try:
        record = to_record(event, pseudonymise)
        if chained:
            record["prev"] = prev
        return orjson.dumps(record) + b"\n", True
    except Exception as exc:  # noqa: BLE001 - recorded as an error record, never dropped, never fatal
        try:
            why = f"{type(exc).__name__}: {_s(str(exc), MAX_ERROR_CHARS)}"
        except Exception:  # noqa: BLE001 - even str(exc) may fail
            why = type(exc).__name__
    error: dict[str, Any] = {"v": SCHEMA_VERSION, "time": utc_iso(_time.time_ns()), "decision_id": _decision_id(event),
                             "encoding_error": why,
                             "errors": [f"encoding-error: the decision log could not record this decision ({why})"]}
    if chained:
        error["prev"] = prev
    return orjson.dumps(error) + b"\n", False
