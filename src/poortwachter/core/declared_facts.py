"""Facts under a declared vocabulary: bundles (the AuthZEN certification fixture, the benchmark
fixture) that speak about other types, actions and properties than the youth-care contract.

The vocabulary is declared in bundle.yaml as data (read by policy/declared_vocabulary.py); each fact
comes from one of three extractors (see vocabulary.Extractor). Values are checked against the declared
type, so such a bundle fails loud on malformed input just like the contract's vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from .errors import RequestError
from .policy.values import FactValue
from .request import ID, PROPERTIES, TYPE, Envelope
from .vocabulary import NONE, Extractor, FactSpec, Vocabulary


def _lookup(envelope: Envelope, path: tuple[str, ...]) -> Any:
    root, rest = path[0], path[1:]
    if root == "context":
        node: Any = envelope.context
    else:
        kind, ident, properties = getattr(envelope, root)
        if rest and rest[0] in ("type", "id", "name"):
            return (ident if rest[0] == "id" else kind) if len(rest) == 1 else None
        node = {"properties": properties}
    for part in rest:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _typed(spec: FactSpec, value: Any, where: str) -> FactValue:
    if spec.kind == "bool":
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        raise RequestError(where, "true or false", value)
    if spec.kind == "int":
        if value is None:
            return -1
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise RequestError(where, "an integer", value)
    if value is None:
        return NONE
    if not isinstance(value, str):
        raise RequestError(where, "a string", value)
    if spec.kind == "enum" and value not in spec.values:
        raise RequestError(where, "one of " + ", ".join(v for v in spec.values if v != NONE), value)
    return value


Getter = Callable[[Envelope], Any]
Step = Callable[[Envelope, dict[str, FactValue]], None]


def _getter(path: tuple[str, ...]) -> Getter:
    """``_lookup(envelope, path)`` with the path's shape settled once, at plan time: the envelope's part
    and the entity's item taken by position (the envelope is a tuple, an entity a plain one)."""
    root, rest = path[0], path[1:]
    at = _PARTS.get(root)
    if at is None:
        return partial(_lookup, path=path)
    if root == "context":
        skip, steps = False, rest
    elif rest and rest[0] in ("type", "id", "name"):
        if len(rest) != 1:
            return lambda envelope: None
        position = ID if rest[0] == "id" else TYPE

        def item(envelope: Any) -> Any:  # (Any: mypy cannot follow a position taken from a dict)
            return envelope[at][position]
        return item
    elif rest and rest[0] == "properties":
        skip, steps = True, rest[1:]
    else:
        return partial(_lookup, path=path)

    def get(envelope: Any) -> Any:
        node = envelope[at][PROPERTIES] if skip else envelope[at]
        for part in steps:
            if type(node) is not dict and not isinstance(node, Mapping):
                return None
            node = node.get(part)
        return node
    return get


_PARTS = {name: n for n, name in enumerate(Envelope._fields) if name in ("subject", "action", "resource", "context")}


def _step(ex: Extractor, spec: FactSpec) -> Step:
    """One extractor as a function that puts its fact into the facts being built."""
    fact = ex.fact
    first = _getter(ex.paths[0])
    if ex.how == "same":
        second = _getter(ex.paths[1])

        def same(envelope: Envelope, facts: dict[str, FactValue]) -> None:
            value = first(envelope)
            facts[fact] = value is not None and value == second(envelope)
        return same
    if ex.how == "member":
        container_of = _getter(ex.paths[1])

        def member(envelope: Envelope, facts: dict[str, FactValue]) -> None:
            value, container = first(envelope), container_of(envelope)
            facts[fact] = isinstance(container, list) and value in container
        return member
    where, required = ".".join(ex.paths[0]), ex.required
    plain = {"bool": bool, "int": int, "str": str, "enum": str}[spec.kind]
    allowed = frozenset(spec.values) if spec.kind == "enum" else None

    def from_(envelope: Envelope, facts: dict[str, FactValue]) -> None:
        value = first(envelope)
        if value is None and required:
            raise RequestError(where, f"a value for {fact}", missing=True)
        # the common, valid case without a call; anything else gets _typed's checks and messages
        if type(value) is plain and (allowed is None or value in allowed):
            facts[fact] = cast(FactValue, value)
        else:
            facts[fact] = _typed(spec, value, where)
    return from_


_PLANS: dict[int, tuple[Vocabulary, tuple[Step, ...]]] = {}


def _plan(vocab: Vocabulary) -> tuple[Step, ...]:
    """The vocabulary's extractors as steps, made once per vocabulary (bundle load), then reused."""
    entry = _PLANS.get(id(vocab))
    if entry is None or entry[0] is not vocab:
        entry = (vocab, tuple(_step(ex, vocab.facts[ex.fact]) for ex in vocab.extractors))
        if len(_PLANS) > 256:  # reloads make new vocabularies; never grow without bound
            _PLANS.clear()
        _PLANS[id(vocab)] = entry
    return entry[1]


def derive_custom(envelope: Envelope, vocab: Vocabulary) -> dict[str, FactValue]:
    """The facts of ``envelope`` under a custom vocabulary."""
    facts: dict[str, FactValue] = {}
    for step in _plan(vocab):
        step(envelope, facts)
    return facts
