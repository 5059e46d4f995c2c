"""Conditions as literal trees: negation normal form over fact masks, the algebra of the analysis.

A rule's condition becomes a tree of literals ``(LIT, fact index, mask of allowed values)`` joined by
AND and OR, with TRUE and FALSE as constants. Restricting a tree to what is known at a node of the
split (:func:`restrict`) simplifies it; a tree that becomes TRUE or FALSE is settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..core.policy.model import All, AnyOf, Condition, Leaf, Not
from ..core.policy.values import ConsentBand
from .constraints import CONSENT_VALID
from .space import Dim, Space

TRUE: tuple[Any, ...] = ("T",)
FALSE: tuple[Any, ...] = ("F",)
LIT, AND, OR = "L", "A", "O"
Cond = tuple[Any, ...]  # TRUE | FALSE | (LIT, dim, mask) | (AND|OR, (cond, …))


def lit(dim: int, mask: int, full: int) -> Cond:
    """The literal ``dim in mask``; TRUE or FALSE when the mask allows every value or none."""
    if mask == full:
        return TRUE
    if mask == 0:
        return FALSE
    return (LIT, dim, mask)


def join(tag: str, items: Iterable[Cond]) -> Cond:
    """AND or OR of ``items``, flattened, with TRUE and FALSE folded away."""
    unit, zero = (TRUE, FALSE) if tag == AND else (FALSE, TRUE)
    out: list[Cond] = []
    for c in items:
        if c is zero:
            return zero
        if c is unit:
            continue
        out.extend(c[1] if c[0] == tag else (c,))
    if not out:
        return unit
    return out[0] if len(out) == 1 else (tag, tuple(out))


def leaf_mask(dim: Dim, leaf: Leaf) -> int:
    """The values of ``dim`` for which ``leaf`` holds (mirrors core.policy.compile)."""
    if leaf.op in ("equals", "in"):
        wanted = leaf.value if leaf.op == "in" else (leaf.value,)
        mask = 0
        for i, v in enumerate(dim.values):
            if dim.kind == "bool":
                hit = any(w is v for w in wanted)  # type: ignore[union-attr]
            elif dim.kind == "int":
                hit = False
            else:
                hit = v in wanted  # type: ignore[operator]
            mask |= hit << i
        return mask
    bound = int(leaf.value)  # type: ignore[arg-type]
    mask = 0
    for i, (lo, hi) in enumerate(dim.values):
        if leaf.op == "gte":
            hit = lo is not None and lo >= bound
        elif leaf.op == "gt":
            hit = lo is not None and lo > bound
        elif leaf.op == "lte":
            hit = hi is not None and hi <= bound
        else:
            hit = hi is not None and hi < bound
        mask |= hit << i
    return mask


def consent_definition(bands: Sequence[ConsentBand]) -> Condition:
    """``consent.valid`` spelled out as core.facts.derive computes it: the client's age band and
    the consents it requires (or, for a wilsonbekwaam client, those of the band's ``wilsonbekwaam``)."""
    options: list[Condition] = []
    lower: int | None = None
    for band in bands:
        ages: list[Condition] = []
        if lower is not None:
            ages.append(Leaf("client.age", "gte", lower))
        if band.below is not None:
            ages.append(Leaf("client.age", "lt", band.below))
        consents: Condition = All(tuple(Leaf(f"consent.{p}", "equals", True) for p in band.from_))
        wb = getattr(band, "wilsonbekwaam", ())
        if wb:
            consents = AnyOf((consents, All((Leaf("client.wilsonbekwaam", "equals", True),
                                             *(Leaf(f"consent.{p}", "equals", True) for p in wb)))))
        options.append(All((*ages, consents)))
        lower = band.below
    return AnyOf(tuple(options))


def to_literals(cond: Condition, space: Space, negate: bool = False,
                valid: Condition | None = None) -> Cond:
    """A condition as a literal tree; ``valid`` replaces ``consent.valid`` (see Space.expand_consent)."""
    if isinstance(cond, Leaf) and valid is not None and cond.fact == CONSENT_VALID:
        return to_literals(valid, space, negate if cond.value is True else not negate)
    if isinstance(cond, Leaf):
        i = space.index[cond.fact]
        mask = leaf_mask(space.dims[i], cond)
        full = space.full[i]
        return lit(i, full & ~mask if negate else mask, full)
    if isinstance(cond, Not):
        return to_literals(cond.item, space, not negate, valid)
    tag = AND if isinstance(cond, All) else OR
    if negate:
        tag = OR if tag == AND else AND
    assert isinstance(cond, All | AnyOf)
    return join(tag, (to_literals(c, space, negate, valid) for c in cond.items))


def restrict(c: Cond, dim: int, mask: int) -> Cond:
    """``c`` with fact ``dim`` known to lie in ``mask``."""
    tag = c[0]
    if tag == LIT:
        if c[1] != dim:
            return c
        lm = c[2]
        if mask & ~lm == 0:
            return TRUE
        if mask & lm == 0:
            return FALSE
        return c
    if tag == AND or tag == OR:
        items = c[1]
        new = [restrict(x, dim, mask) for x in items]
        if all(a is b for a, b in zip(new, items)):
            return c
        return join(tag, new)
    return c


def collect(c: Cond, into: dict[int, set[int]]) -> None:
    """Add the masks ``c`` tests, per fact, to ``into``."""
    if c[0] == LIT:
        into.setdefault(c[1], set()).add(c[2])
    elif c[0] in (AND, OR):
        for x in c[1]:
            collect(x, into)



def holds(c: Cond, point: Sequence[int]) -> bool:
    """A literal tree on a point (a domain index per fact)."""
    tag = c[0]
    if tag == LIT:
        return bool(c[2] >> point[c[1]] & 1)
    if tag == AND:
        return all(holds(x, point) for x in c[1])
    if tag == OR:
        return any(holds(x, point) for x in c[1])
    return c is TRUE


def mentions(c: Cond, dims: set[int]) -> bool:
    found: dict[int, set[int]] = {}
    collect(c, found)
    return any(d in dims for d in found)


def cond_words(space: Space, c: Cond, top: bool = True) -> str:
    """A literal tree in words: ``subject.identity_verified false and (consent.self true or …)``."""
    tag = c[0]
    if tag == LIT:
        return space.dims[c[1]].describe(c[2])
    if c is TRUE:
        return "always"
    if c is FALSE:
        return "never"
    parts = [cond_words(space, x, False) for x in c[1]]
    text = (" and " if tag == AND else " or ").join(parts)
    return text if top else f"({text})"


def cond_json(space: Space, c: Cond) -> Any:
    tag = c[0]
    if tag == LIT:
        d = space.dims[c[1]]
        return {"fact": d.name, "in": [d.label(i) for i in d.members(c[2])]}
    if c is TRUE:
        return True
    if c is FALSE:
        return False
    return {"all" if tag == AND else "any": [cond_json(space, x) for x in c[1]]}
