"""The answers of the decision API as frozen dataclasses, read strictly from the JSON.

An answer that lacks what docs/api.md promises (a ``decision`` that is not a boolean, a context
without ``decision_id``) raises :class:`~poortwachter.client.ProtocolError`: the client never turns a
shape it does not understand into an allow. Fields the service adds later are ignored (each answer
keeps its JSON in ``raw`` for them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolError


def _get(data: Mapping[str, Any], key: str, kind: type, where: str,
         default: Any = ...) -> Any:
    value = data.get(key, default)
    if value is ...:
        raise ProtocolError(f"{where}: the answer has no {key!r}")
    if value is not None or default is not None:
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise ProtocolError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}"[:300])
    return value


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _strs(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _get(data, key, list, where, [])
    if not all(isinstance(x, str) for x in items):
        raise ProtocolError(f"{where}.{key}: expected a list of strings")
    return tuple(items)


@dataclass(frozen=True)
class Text:
    """A text in Dutch (for clients) and English."""

    nl: str
    en: str

    @classmethod
    def read(cls, data: Any, where: str) -> Text:
        d = _obj(data, where)
        return cls(_get(d, "nl", str, where), _get(d, "en", str, where))


@dataclass(frozen=True)
class BundleRef:
    """The bundle version that decided."""

    name: str
    version: str
    revision: str


@dataclass(frozen=True)
class Reason:
    """A deciding rule: ``default-deny`` when none applied, ``evaluation-error`` when the request could
    not be fully evaluated; ``basis`` the legal articles, ``source`` the documents it was read from."""

    rule: str
    effect: str
    text: Text
    basis: tuple[str, ...]
    source: tuple[str, ...]


@dataclass(frozen=True)
class Obligation:
    """A duty attached to the answer (AuthZEN Obligations profile): mandatory."""

    id: str
    type: str
    text: Text | None
    properties: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Missing:
    """On a deny: a fact the caller could obtain that would make an allow rule apply."""

    fact: str
    path: str
    rule: str
    text: Text
    from_: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ItemError:
    """Why one evaluation of a batch (or filter) could not be decided; it is denied."""

    status: int
    message: str
    field: str | None = None
    pointer: str | None = None
    expected: str | None = None
    got: str | None = None


@dataclass(frozen=True)
class DecisionContext:
    decision_id: str
    bundle: BundleRef | None
    reasons: tuple[Reason, ...]
    obligations: tuple[Obligation, ...]
    missing: tuple[Missing, ...]
    errors: tuple[str, ...]
    error: ItemError | None

    @classmethod
    def read(cls, data: Any, where: str) -> DecisionContext:
        d = _obj(data, where)
        bundle = d.get("bundle")
        ref = None
        if bundle is not None:
            b = _obj(bundle, where + ".bundle")
            ref = BundleRef(*(_get(b, k, str, where + ".bundle") for k in ("name", "version", "revision")))
        reasons = tuple(_reason(_obj(r, f"{where}.reasons[{i}]"), f"{where}.reasons[{i}]")
                        for i, r in enumerate(_get(d, "reasons", list, where, [])))
        obligations = tuple(_obligation(_obj(o, f"{where}.obligations[{i}]"), f"{where}.obligations[{i}]")
                            for i, o in enumerate(_get(d, "obligations", list, where, [])))
        missing = tuple(_missing(_obj(m, f"{where}.missing[{i}]"), f"{where}.missing[{i}]")
                        for i, m in enumerate(_get(d, "missing", list, where, [])))
        error = d.get("error")
        item_error = None
        if error is not None:
            e = _obj(error, where + ".error")
            w = where + ".error"
            item_error = ItemError(_get(e, "status", int, w), _get(e, "message", str, w),
                                   *(_get(e, k, str, w, None) for k in ("field", "pointer", "expected", "got")))
        return cls(_get(d, "decision_id", str, where), ref, reasons, obligations, missing, _strs(d, "errors", where),
                   item_error)


def _reason(d: Mapping[str, Any], where: str) -> Reason:
    return Reason(_get(d, "rule", str, where), _get(d, "effect", str, where), Text.read(d.get("text"), where + ".text"),
                  _strs(d, "basis", where), _strs(d, "source", where))


def _obligation(d: Mapping[str, Any], where: str) -> Obligation:
    props = _get(d, "properties", dict, where, {})
    text = Text.read(props["text"], where + ".properties.text") if "text" in props else None
    return Obligation(_get(d, "id", str, where), _get(d, "type", str, where, "custom"), text, props)


def _missing(d: Mapping[str, Any], where: str) -> Missing:
    return Missing(_get(d, "fact", str, where), _get(d, "path", str, where), _get(d, "rule", str, where),
                   Text.read(d.get("text"), where + ".text"), _get(d, "from", str, where, None),
                   _get(d, "kind", str, where, None))


@dataclass(frozen=True)
class Decision:
    """One AuthZEN decision. ``decision`` is True only for an allow the service gave.

    Obligations are mandatory: use :meth:`permits` with the obligation ids your system carries out,
    so an allow whose duties you cannot fulfil counts as the deny it is."""

    decision: bool
    context: DecisionContext
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> Decision:
        d = _obj(data, where)
        return cls(_get(d, "decision", bool, where), DecisionContext.read(d.get("context"), where + ".context"), d)

    @property
    def obligation_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.context.obligations)

    def permits(self, supported: Collection[str]) -> bool:
        """An allow whose every obligation is one of ``supported`` (ids your system carries out)."""
        return self.decision is True and all(o.id in supported for o in self.context.obligations)


@dataclass(frozen=True)
class RuleTrace:
    """One rule of the bundle in an explanation: did it cover the request, did it apply, which conditions failed."""

    rule: str
    effect: str
    considered: bool
    applied: bool
    failed: tuple[str, ...]


@dataclass(frozen=True)
class Explanation(Decision):
    """A decision with the derived ``facts`` the rules saw and every rule's trace (``POST /v1/decisions``)."""

    facts: Mapping[str, str | bool | int] = field(default_factory=dict)
    rules: tuple[RuleTrace, ...] = ()

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> Explanation:
        base = Decision.read(data, where)
        d = base.raw
        rules = []
        for i, r in enumerate(_get(d, "rules", list, where)):
            w = f"{where}.rules[{i}]"
            r = _obj(r, w)
            rules.append(RuleTrace(_get(r, "rule", str, w), _get(r, "effect", str, w), _get(r, "considered", bool, w),
                                   _get(r, "applied", bool, w), _strs(r, "failed", w)))
        return cls(base.decision, base.context, d, dict(_get(d, "facts", dict, where)), tuple(rules))


@dataclass(frozen=True)
class FilterItem:
    id: str
    decision: bool
    context: DecisionContext


@dataclass(frozen=True)
class FilterAnswer:
    """``allowed`` ids may be shown (carry out their obligations), ``denied`` ids are hidden; ``items`` in request order."""

    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    items: tuple[FilterItem, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> FilterAnswer:
        d = _obj(data, where)
        items = []
        for i, item in enumerate(_get(d, "items", list, where)):
            w = f"{where}.items[{i}]"
            it = _obj(item, w)
            items.append(FilterItem(_get(it, "id", str, w), _get(it, "decision", bool, w),
                                    DecisionContext.read(it.get("context"), w + ".context")))
        return cls(_strs(d, "allowed", where), _strs(d, "denied", where), tuple(items), d)


@dataclass(frozen=True)
class Entity:
    """A search result: a subject or resource (``type``, ``id``) or an action (``name``)."""

    type: str | None = None
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class SearchAnswer:
    """One page of a search. ``next_token`` is empty at the end; send it as ``page.token`` for the next page."""

    results: tuple[Entity, ...]
    next_token: str
    count: int
    total: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> SearchAnswer:
        d = _obj(data, where)
        results = []
        for i, r in enumerate(_get(d, "results", list, where)):
            w = f"{where}.results[{i}]"
            e = _obj(r, w)
            results.append(Entity(_get(e, "type", str, w, None), _get(e, "id", str, w, None),
                                  _get(e, "name", str, w, None)))
        page = _obj(d.get("page"), where + ".page")
        w = where + ".page"
        return cls(tuple(results), _get(page, "next_token", str, w), _get(page, "count", int, w),
                   _get(page, "total", int, w), d)


@dataclass(frozen=True)
class Metadata:
    """AuthZEN PDP metadata (``/.well-known/authzen-configuration``): the endpoint URLs."""

    policy_decision_point: str
    access_evaluation_endpoint: str
    access_evaluations_endpoint: str
    search_subject_endpoint: str
    search_resource_endpoint: str
    search_action_endpoint: str

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> Metadata:
        d = _obj(data, where)
        return cls(*(_get(d, k, str, where) for k in (
            "policy_decision_point", "access_evaluation_endpoint", "access_evaluations_endpoint",
            "search_subject_endpoint", "search_resource_endpoint", "search_action_endpoint")))


@dataclass(frozen=True)
class Health:
    """``/healthz`` or ``/readyz``: ``ok`` for 200 (ok, ready), false for the 503 answers (dead, not ready)."""

    ok: bool
    status: str
    detail: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, ok: bool, where: str = "answer") -> Health:
        d = _obj(data, where)
        return cls(ok, _get(d, "status", str, where), _get(d, "detail", str, where, None), d)


@dataclass(frozen=True)
class BundleSummary:
    name: str
    active: tuple[str, ...]
    in_force: str | None
    held: bool
    last_error: Mapping[str, Any] | None


@dataclass(frozen=True)
class BundleList:
    """``GET /v1/bundles``: every bundle with its active versions and the one in force today."""

    bundles: tuple[BundleSummary, ...]
    dossier_type_bundles: Mapping[str, str]
    generation: int
    revision_set: str
    refused: Mapping[str, str]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> BundleList:
        d = _obj(data, where)
        bundles = []
        for i, b in enumerate(_get(d, "bundles", list, where)):
            w = f"{where}.bundles[{i}]"
            b = _obj(b, w)
            bundles.append(BundleSummary(_get(b, "name", str, w), _strs(b, "active", w), _get(b, "in_force", str, w, None),
                                         _get(b, "held", bool, w), _get(b, "last_error", dict, w, None)))
        return cls(tuple(bundles), _get(d, "dossier_type_bundles", dict, where), _get(d, "generation", int, where),
                   _get(d, "revision_set", str, where), _get(d, "refused", dict, where, {}), d)


@dataclass(frozen=True)
class BundleVersion:
    version: str
    effective_from: str
    revision: str
    key_id: str
    active: bool
    in_force: bool


@dataclass(frozen=True)
class BundleDetail:
    """``GET /v1/bundles/{name}``: every known revision; ``raw`` has the hold and the roll-back history."""

    name: str
    active: tuple[str, ...]
    in_force: str | None
    versions: tuple[BundleVersion, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> BundleDetail:
        d = _obj(data, where)
        versions = []
        for i, v in enumerate(_get(d, "versions", list, where)):
            w = f"{where}.versions[{i}]"
            v = _obj(v, w)
            versions.append(BundleVersion(_get(v, "version", str, w), _get(v, "effective_from", str, w),
                                          _get(v, "revision", str, w), _get(v, "key_id", str, w),
                                          _get(v, "active", bool, w), _get(v, "in_force", bool, w)))
        return cls(_get(d, "name", str, where), _strs(d, "active", where), _get(d, "in_force", str, where, None),
                   tuple(versions), d)


@dataclass(frozen=True)
class LoadReport:
    """What an admin reload, activation or roll-back changed."""

    generation: int
    changed: tuple[str, ...]
    kept: tuple[str, ...]
    refused: Mapping[str, str]

    @classmethod
    def read(cls, data: Any, where: str = "answer") -> LoadReport:
        d = _obj(data, where)
        return cls(_get(d, "generation", int, where), _strs(d, "changed", where), _strs(d, "kept", where),
                   _get(d, "refused", dict, where, {}))
