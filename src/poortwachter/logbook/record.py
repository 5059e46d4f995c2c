"""One decision, one JSON line: the NEN 7513 record of who did what on which client's dossier.

NEN 7513:2024 (toolkit-jgz-2026 bijlage C) asks at least: the event, its time, which client,
which user caused it and on whose behalf. A record (schema ``v`` 1) holds::

    v, time                     schema version; when the decision was taken (ISO 8601 with offset, µs;
                                the items of one batch, filter or search: the call's one moment)
    decision_id, request_id     the answer's decision id; the caller's X-Request-ID (or ours)
    endpoint                    which API answered (e.g. /access/v1/evaluation)
    subject {id, type, role}    who asked; role = relation (person), discipline (professional) or kind
    organisation                on whose behalf (the professional's organisation), when given
    action, item {type, id, category, dossier_type}
    client                      the client id, pseudonymised (see pseudonym.py; so are subject.id,
                                the dossier part of item.id and emergency.by, unless switched off)
    decision, rules, obligations  allow/deny, the deciding rules, the duties attached
    bundle {name, version, revision}
    purpose, emergency          context.purpose; the emergency attestation ({by}) if one was made
    attestations                the kinds of every attestation the professional made
    processing_activity_id, traceparent   NLGov profile keys, when given
    as_of                       context.time the decision was taken for (may differ from time)
    errors                      why an item could not be evaluated (then decision is deny)
    prev                        SHA-256 of the previous line of the same file (tamper evidence)

The service hands over a :class:`DecisionEvent` (the one event shape: typed values, no dicts) and
the writer turns it into the record (one serialiser: :func:`prepare` on the submitting thread, then
:func:`link` in the writer thread, where the chain is). ``client``, ``subject.id``,
``item.id`` (its dossier part) and ``emergency.by`` are keyed pseudonyms (pseudonym.py).

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
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from ..core.verdict import BundleRef
from .pseudonym import ALL, Identifying, item_pseudonym

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
    if type(value) is tuple and len(value) <= MAX_LIST_ITEMS:  # an event's (rules, obligations): short strings
        for v in value:
            if type(v) is not str or len(v) > limit:
                break
        else:
            return list(value)
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


# NamedTuples rather than frozen dataclasses, like the request's envelope (core/request.py): as immutable
# and typed, and built in one step; a frozen dataclass sets each field through object.__setattr__, and the
# service builds one event of three objects for every decision (issue 16: 4.8 → 1.4 µs).


class Subject(NamedTuple):
    """Who asked: id, type, and role (relation, discipline or kind)."""

    id: str | None = None
    type: str | None = None
    role: str | None = None


class Item(NamedTuple):
    """What was asked about: resource type, id (``<dossier>/<item>``), category and dossier type."""

    type: str | None = None
    id: str | None = None
    category: str | None = None
    dossier_type: str | None = None


class DecisionEvent(NamedTuple):
    """One decision as the service hands it to the log: the one event shape (issue 15).

    Built by the decider from the parsed, validated request and the derived facts (or, for a
    request that could not be decided, by :meth:`undecided` from what it sent); the writer thread
    turns it into the record (:meth:`record`: bounding every value and pseudonymising the ids), so
    the request path only fills a slotted object. ``client``, ``subject.id``, ``item.id`` and
    ``emergency_by`` are the real ids: they never reach the log in the clear unless the operator
    switched pseudonymisation off.
    """

    decision_id: str
    request_id: str | None
    endpoint: str
    decision: bool
    time: str  # when the decision was taken: ISO 8601 with offset (the service's clock)
    as_of: str | None = None  # context.time the decision was taken for
    subject: Subject = Subject()
    organisation: str | None = None
    action: str | None = None
    client: str | None = None
    item: Item = Item()
    rules: tuple[str, ...] = ()
    obligations: tuple[str, ...] = ()
    bundle: BundleRef | None = None
    purpose: str | None = None
    attestations: tuple[str, ...] = ()
    emergency: bool = False  # an emergency attestation was made ...
    emergency_by: str | None = None  # ... by whom
    processing_activity_id: str | None = None
    traceparent: str | None = None
    errors: tuple[str, ...] = ()

    @classmethod
    def undecided(cls, decision_id: str, request_id: str | None, endpoint: str, time: str, raw: Any, rule: str,
                  error: str, traceparent: str | None = None) -> DecisionEvent:
        """A request that was not decided (malformed, refused, an internal error): denied, with who and
        what as far as the request holds them as short strings (nothing else it sent is copied)."""
        return cls(decision_id, request_id, endpoint, False, time,
                   subject=Subject(_short(_get(raw, "subject", "id")), _short(_get(raw, "subject", "type"))),
                   action=_short(_get(raw, "action", "name")),
                   client=_short(_get(raw, "resource", "properties", "client", "id")),
                   item=Item(_short(_get(raw, "resource", "type")), _short(_get(raw, "resource", "id")),
                             dossier_type=_short(_get(raw, "resource", "properties", "dossier_type"))),
                   rules=(rule,), traceparent=traceparent, errors=(error[:MAX_ERROR_CHARS],))

    def record(self, pseudonymise: Callable[[str], str], identifying: Identifying = ALL) -> dict[str, Any]:
        """The schema-1 record: every value bounded, the identifying ones pseudonymised."""
        s, i, b = self.subject, self.item, self.bundle
        by = _s(self.emergency_by)
        record: dict[str, Any] = {
            "v": SCHEMA_VERSION,
            "time": _s(self.time) or utc_iso(_time.time_ns()),
            "decision_id": _s(self.decision_id),
            "request_id": _s(self.request_id),
            "endpoint": _s(self.endpoint),
            "subject": {"id": _subject(_s(s.id), pseudonymise, identifying), "type": _s(s.type), "role": _s(s.role)},
            "organisation": _s(self.organisation),
            "action": _s(self.action),
            "client": _client(_s(self.client), pseudonymise),
            "item": {"type": _s(i.type), "id": _item(_s(i.id), pseudonymise, identifying),
                     "category": _s(i.category), "dossier_type": _s(i.dossier_type)},
            "decision": "allow" if self.decision is True else "deny",
            "rules": _strs(self.rules),
            "obligations": _strs(self.obligations),
            "bundle": ({"name": _s(b.name), "version": _s(b.version), "revision": _s(b.revision)}
                       if b is not None else None),
            "purpose": _s(self.purpose),
            "emergency": {"by": _subject(by, pseudonymise, identifying)} if self.emergency or by else None,
            "attestations": _strs(self.attestations),
            "processing_activity_id": _s(self.processing_activity_id),
            "traceparent": _s(self.traceparent),
            "as_of": _s(self.as_of),
        }
        errors = _strs(self.errors, MAX_ERROR_CHARS)
        if errors:
            record["errors"] = errors
        return record


LogEvent = DecisionEvent | Mapping[str, Any]  # a mapping: a record already in the log's shape (tools, tests)


def _short(value: Any) -> str | None:
    """``value`` if it is a short string, else None: the only way a raw value reaches the log."""
    return value if type(value) is str and len(value) <= MAX_VALUE_CHARS else None


def _get(data: Any, *keys: str) -> Any:
    """data[k1][k2]… or None."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _when(value: Any) -> str:
    """The event's time as given when it is an ISO string (with its offset; readers parse offsets), else now."""
    return (_s(value) or "") if isinstance(value, str) and value else utc_iso(_time.time_ns())


def _client(value: Any, pseudonymise: Callable[[str], str]) -> str | None:
    client = _s(value) if isinstance(value, str) else None
    return pseudonymise(client) if client else None


def _subject(value: str | None, pseudonymise: Callable[[str], str], identifying: Identifying) -> str | None:
    return pseudonymise(value) if value and identifying.subject else value


def _item(value: str | None, pseudonymise: Callable[[str], str], identifying: Identifying) -> str | None:
    return item_pseudonym(value, pseudonymise) if value and identifying.item else value


def to_record(event: DecisionEvent | Mapping[str, Any], pseudonymise: Callable[[str], str],
              identifying: Identifying = ALL) -> dict[str, Any]:
    """The record of an event: a :class:`DecisionEvent`, or a mapping already in the record's shape
    (tools, tests, imports), bounded and with its identifying values pseudonymised the same way."""
    if isinstance(event, DecisionEvent):
        return event.record(pseudonymise, identifying)
    record = {str(_s(k) if isinstance(k, str) else type(k).__name__): _bounded(v)
              for k, v in list(event.items())[:MAX_LIST_ITEMS]}
    record.setdefault("v", SCHEMA_VERSION)
    record["time"] = _when(event.get("time"))
    if "client" in event:
        record["client"] = _client(event.get("client"), pseudonymise)
    for part, key, hide in (("subject", "id", _subject), ("item", "id", _item), ("emergency", "by", _subject)):
        inner = record.get(part)
        if isinstance(inner, dict) and isinstance(inner.get(key), str):
            inner[key] = hide(inner[key], pseudonymise, identifying)
    return record


def _decision_id(event: Any) -> str | None:
    try:
        value = event.decision_id if isinstance(event, DecisionEvent) else _m(event).get("decision_id")
        return _s(value)
    except Exception:  # noqa: BLE001 - a broken event still gets its error record
        return None


Encoded = tuple[bytes, bool, "str | None"]  # the line, whether it is the full record, the record's time


class Prepared(NamedTuple):
    """A record serialised but for its chain link: the JSON object without its closing brace.

    Made on the thread that submits the event (the event loop), so the writer thread's turn under
    the GIL, which every answer in its group commit waits for, holds only the link, the hash and the
    write (docs/benchmarks.md, "Records serialised where they are made": whole-machine batches +4 % in
    the median of 22 alternated pairs, the machine's idle share 11–14 % → 6–9 %)."""

    head: bytes  # the JSON object's bytes up to, not including, its closing "}"
    ok: bool  # the full record (False: an error record, see prepare)
    time: str


def encode(event: DecisionEvent | Mapping[str, Any], pseudonymise: Callable[[str], str],
           prev: str | None = None, *, chained: bool = True, identifying: Identifying = ALL) -> tuple[bytes, bool]:
    """The event's JSON line (with ``prev``, the previous line's hash, when ``chained``) and whether it
    is the full record. Never raises (see :func:`prepare`)."""
    line, ok, _ = link(prepare(event, pseudonymise, identifying), prev, chained=chained)
    return line, ok


def prepare(event: DecisionEvent | Mapping[str, Any], pseudonymise: Callable[[str], str],
            identifying: Identifying = ALL) -> Prepared:
    """The event's record, serialised; :func:`link` adds ``prev`` as its last key.

    Never raises: an event that cannot be rendered or encoded becomes an error record keeping its
    decision id (``ok`` False), so one hostile or buggy event can neither kill the writer nor loop it.
    """
    try:
        record = to_record(event, pseudonymise, identifying)
        record.pop("prev", None)  # a mapping's own: the writer's link is the only one
        return Prepared(orjson.dumps(record)[:-1], True, record["time"])
    except Exception as exc:  # noqa: BLE001 - recorded as an error record, never dropped, never fatal
        try:
            why = f"{type(exc).__name__}: {_s(str(exc), MAX_ERROR_CHARS)}"
        except Exception:  # noqa: BLE001 - even str(exc) may fail
            why = type(exc).__name__
    now = utc_iso(_time.time_ns())
    error: dict[str, Any] = {"v": SCHEMA_VERSION, "time": now, "decision_id": _decision_id(event),
                             "encoding_error": why,
                             "errors": [f"encoding-error: the decision log could not record this decision ({why})"]}
    return Prepared(orjson.dumps(error)[:-1], False, now)


def link(prepared: Prepared, prev: str | None, *, chained: bool = True) -> Encoded:
    """The prepared record's line: ``prev`` appended as its last key when ``chained`` (byte for byte
    what serialising the record with that key would give)."""
    if not chained:
        return prepared.head + b"}\n", prepared.ok, prepared.time
    comma = b"," if len(prepared.head) > 1 else b""
    return prepared.head + comma + b'"prev":' + orjson.dumps(prev) + b"}\n", prepared.ok, prepared.time
