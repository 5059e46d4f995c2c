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

from .reading import get, obj, objs, strs


@dataclass(frozen=True)
class Text:
    """A text in Dutch (for clients) and English."""

    nl: str
    en: str

    @classmethod
    def read(cls, data: Any, where: str) -> Text:
        d = obj(data, where)
        return cls(get(d, "nl", str, where), get(d, "en", str, where))


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
        d = obj(data, where)
        bundle = d.get("bundle")
        ref = None
        if bundle is not None:
            b = obj(bundle, where + ".bundle")
            ref = BundleRef(*(get(b, k, str, where + ".bundle") for k in ("name", "version", "revision")))
        reasons = tuple(_reason(o, w) for o, w in objs(d, "reasons", where, []))
        obligations = tuple(_obligation(o, w) for o, w in objs(d, "obligations", where, []))
        missing = tuple(_missing(o, w) for o, w in objs(d, "missing", where, []))
        error = d.get("error")
        item_error = None
        if error is not None:
            e = obj(error, where + ".error")
            w = where + ".error"
            item_error = ItemError(get(e, "status", int, w), get(e, "message", str, w),
                                   *(get(e, k, str, w, None) for k in ("field", "pointer", "expected", "got")))
        return cls(get(d, "decision_id", str, where), ref, reasons, obligations, missing, strs(d, "errors", where),
                   item_error)


def _reason(d: Mapping[str, Any], where: str) -> Reason:
    return Reason(get(d, "rule", str, where), get(d, "effect", str, where), Text.read(d.get("text"), where + ".text"),
                  strs(d, "basis", where), strs(d, "source", where))


def _obligation(d: Mapping[str, Any], where: str) -> Obligation:
    props = get(d, "properties", dict, where, {})
    text = Text.read(props["text"], where + ".properties.text") if "text" in props else None
    return Obligation(get(d, "id", str, where), get(d, "type", str, where, "custom"), text, props)


def _missing(d: Mapping[str, Any], where: str) -> Missing:
    return Missing(get(d, "fact", str, where), get(d, "path", str, where), get(d, "rule", str, where),
                   Text.read(d.get("text"), where + ".text"), get(d, "from", str, where, None),
                   get(d, "kind", str, where, None))


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
        d = obj(data, where)
        return cls(get(d, "decision", bool, where), DecisionContext.read(d.get("context"), where + ".context"), d)

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
        for r, w in objs(d, "rules", where):
            rules.append(RuleTrace(get(r, "rule", str, w), get(r, "effect", str, w), get(r, "considered", bool, w),
                                   get(r, "applied", bool, w), strs(r, "failed", w)))
        return cls(base.decision, base.context, d, dict(get(d, "facts", dict, where)), tuple(rules))


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
        d = obj(data, where)
        items = []
        for it, w in objs(d, "items", where):
            items.append(FilterItem(get(it, "id", str, w), get(it, "decision", bool, w),
                                    DecisionContext.read(it.get("context"), w + ".context")))
        return cls(strs(d, "allowed", where), strs(d, "denied", where), tuple(items), d)


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
        d = obj(data, where)
        results = []
        for e, w in objs(d, "results", where):
            results.append(Entity(get(e, "type", str, w, None), get(e, "id", str, w, None),
                                  get(e, "name", str, w, None)))
        page = obj(d.get("page"), where + ".page")
        w = where + ".page"
        return cls(tuple(results), get(page, "next_token", str, w), get(page, "count", int, w),
                   get(page, "total", int, w), d)


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
        d = obj(data, where)
        return cls(*(get(d, k, str, where) for k in (
            "policy_decision_point", "access_evaluation_endpoint", "access_evaluations_endpoint",
            "search_subject_endpoint", "search_resource_endpoint", "search_action_endpoint")))
