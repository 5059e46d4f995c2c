"""The exact split of a bundle's decision space into regions, one settled key (verdict, change …) each.

The decision space of a bundle is finite (see :mod:`.space`). The analysis splits it recursively,
like a decision diagram without sharing: at each step the rules still in play are simplified under
the constraints found so far (a condition over a fact whose allowed values all satisfy it becomes
true, none of them false), and only when the verdict is not yet settled is one more fact split, into
the classes of values the remaining conditions tell apart. The leaves are disjoint regions, one
verdict each; regions with the same verdict that differ in one fact only are then merged, until
nothing merges. The result covers every combination exactly once (combinations no request can
produce, see :class:`.constraints.Constraint`, are left out) — no sampling.

The same engine analyses two bundles at once (a leaf is reached when both verdicts are settled),
which is what :mod:`.diff` uses. A large diff meets the same rules in play at many nodes; with
``share=True`` the work that follows from them alone is done once (the leaves are still every one).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .literals import FALSE, Cond, collect, restrict
from .programs import SKIP, Program, Region, Settle, State, TooLarge
from .space import Space


class _Enough(Exception):
    pass


def _narrow(pairs: list[tuple[int, Cond]], dim: int, mask: int) -> list[tuple[int, Cond]]:
    out = []
    for i, c in pairs:
        r = restrict(c, dim, mask)
        if r is not FALSE:
            out.append((i, r))
    return out


def _start_states(space: Space, programs: Sequence[Program], masks: Sequence[int]) -> list[State]:
    """Each program's rules under the starting masks, split into denies and allows (false ones left out)."""
    states = []
    for p in programs:
        denies: list[tuple[int, Cond]] = []
        allows: list[tuple[int, Cond]] = []
        for i, rule, cond in p.items:
            for d, m in enumerate(masks):
                if m != space.full[d]:
                    cond = restrict(cond, d, m)
            if cond is not FALSE:
                (denies if rule.effect == "deny" else allows).append((i, cond))
        states.append(State(denies, allows))
    return states


def _split_fact(relevant: Sequence[Cond], allowed: set[int] | None, first: Sequence[int]) -> tuple[int, list[int]]:
    """The fact to split a node on (the first of ``first`` the conditions mention, else the one most of them
    mention) and the masks they test it with, in order."""
    lits: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for c in relevant:
        mine: dict[int, set[int]] = {}
        collect(c, mine)
        for d, ms in mine.items():
            if allowed is not None and d not in allowed:
                continue
            lits.setdefault(d, set()).update(ms)
            counts[d] = counts.get(d, 0) + 1
    dim = next((d for d in first if d in lits), None)
    if dim is None:
        dim = min(lits, key=lambda d: (-counts[d], d))
    return dim, sorted(lits[dim])


def explore(space: Space, programs: Sequence[Program], settle: Settle, start: Sequence[int] | None = None,
            order: Sequence[str] = (), only: Iterable[str] | None = None, limit: int | None = None,
            share: bool = False, max_leaves: int | None = None,
            what: str = "") -> list[Region]:
    """The disjoint leaf regions of the split (before merging), feasible ones only.

    ``settle`` says when a node's key (verdict, change, …) is known; ``start`` limits the space (a
    mask per fact); ``order`` names facts to split first whenever the key still depends on them
    (the matrix splits on who/what/age first); ``only`` limits splitting to these facts (the
    settle function must then only ask for conditions over them); ``limit`` stops after that many
    regions (lint asks "is there any …?").

    ``share``: the same split, the same leaves in the same order, but the rules in play at a node
    are worked out once for every node where they are the same (see :class:`_Shared`); ``settle``
    must then be a function of the states alone, called once per distinct set of states — a
    :func:`guarded` settle would count distinct nodes, so pass ``max_leaves`` (and ``what``, the
    :class:`TooLarge` message) instead: every settled leaf counts, as with :func:`guarded`.
    """
    if share:
        return _Shared(space, programs, settle, order, only).explore(start, limit, max_leaves, what)
    first = [space.index[f] for f in order if f in space.index]
    allowed = None if only is None else {space.index[f] for f in only if f in space.index}
    masks = list(start if start is not None else space.full)
    states = _start_states(space, programs, masks)
    found: list[Region] = []

    def walk(masks: list[int], states: list[State]) -> None:
        key, relevant = settle(states)
        if not relevant:
            if key is not SKIP and space.feasible(masks):
                found.append(Region(tuple(masks), key))
                if limit is not None and len(found) >= limit:
                    raise _Enough
            return
        dim, tests = _split_fact(relevant, allowed, first)
        classes: dict[tuple[bool, ...], int] = {}
        for v in space.dims[dim].members(masks[dim]):
            sig = tuple(bool(m >> v & 1) for m in tests)
            classes[sig] = classes.get(sig, 0) | 1 << v
        for cm in classes.values():
            sub = list(masks)
            sub[dim] = cm
            walk(sub, [State(_narrow(st.denies, dim, cm), _narrow(st.allows, dim, cm)) for st in states])

    try:
        walk(masks, states)
    except _Enough:
        pass
    return found


class _Node:
    """The rules in play at a node of the split, shared by every node where they are the same."""

    __slots__ = ("children", "classes", "dim", "key", "relevant", "states", "tests")

    def __init__(self, states: list[State]) -> None:
        self.states = states
        self.relevant: list[Cond] | None = None  # None: not settled yet
        self.key: Any = None
        self.dim = -1
        self.tests: list[int] = []
        self.classes: dict[int, list[int]] = {}  # mask of the split fact → its classes, in order
        self.children: dict[int, _Node] = {}  # class → the node below


class _Shared:
    """:func:`explore` with the work of a node done once for every node with the same states.

    The split visits the same states many times (a large diff: 234 000 nodes, 24 000 distinct
    states), under other masks of facts the rules no longer mention. What follows from the
    states alone is kept per distinct states: the settle answer, the fact to split and the masks
    it tests, the classes of a mask of that fact and the states below each class; a condition
    restricted to a mask once is not restricted again. States are told apart by their rules and
    the identity of their conditions (restriction hands the same condition back when nothing
    changes, and the memo of restrictions makes equal restrictions the same object). The walk
    itself — the order of splits, classes and leaves, feasibility per leaf — is the plain one.
    """

    def __init__(self, space: Space, programs: Sequence[Program], settle: Settle, order: Sequence[str],
                 only: Iterable[str] | None) -> None:
        self.space, self.programs, self.settle = space, programs, settle
        self.first = [space.index[f] for f in order if f in space.index]
        self.allowed = None if only is None else {space.index[f] for f in only if f in space.index}
        self.nodes: dict[tuple[tuple[tuple[int, int], ...], ...], _Node] = {}
        self.restricted: dict[tuple[int, int, int], tuple[Cond, Cond]] = {}  # (id(c), dim, mask) → (c, result)

    def node(self, states: list[State]) -> _Node:
        key = tuple(tuple((i, id(c)) for i, c in (*st.denies, *st.allows)) for st in states)
        found = self.nodes.get(key)
        if found is None:
            found = self.nodes[key] = _Node(states)
        return found

    def narrow(self, pairs: list[tuple[int, Cond]], dim: int, mask: int) -> list[tuple[int, Cond]]:
        memo = self.restricted
        out = []
        for pair in pairs:
            c = pair[1]
            k = (id(c), dim, mask)
            hit = memo.get(k)
            if hit is None:
                hit = memo[k] = (c, restrict(c, dim, mask))
            r = hit[1]
            if r is c:
                out.append(pair)
            elif r is not FALSE:
                out.append((pair[0], r))
        return out

    def settle_node(self, node: _Node) -> None:
        node.key, relevant = self.settle(node.states)
        node.relevant = relevant
        if not relevant:
            return
        node.dim, node.tests = _split_fact(relevant, self.allowed, self.first)

    def explore(self, start: Sequence[int] | None, limit: int | None, max_leaves: int | None,
                what: str) -> list[Region]:
        space = self.space
        masks = list(start if start is not None else space.full)
        states = _start_states(space, self.programs, masks)
        found: list[Region] = []
        settled = 0

        def walk(masks: list[int], node: _Node) -> None:
            nonlocal settled
            if node.relevant is None:
                self.settle_node(node)
            if not node.relevant:
                settled += 1
                if max_leaves is not None and settled > max_leaves:
                    raise TooLarge(f"{what}: more than {max_leaves} regions")
                if node.key is not SKIP and space.feasible(masks):
                    found.append(Region(tuple(masks), node.key))
                    if limit is not None and len(found) >= limit:
                        raise _Enough
                return
            dim = node.dim
            classes = node.classes.get(masks[dim])
            if classes is None:
                by_sig: dict[tuple[bool, ...], int] = {}
                tests = node.tests
                for v in space.dims[dim].members(masks[dim]):
                    sig = tuple(bool(m >> v & 1) for m in tests)
                    by_sig[sig] = by_sig.get(sig, 0) | 1 << v
                classes = node.classes[masks[dim]] = list(by_sig.values())
            for cm in classes:
                child = node.children.get(cm)
                if child is None:
                    child = node.children[cm] = self.node(
                        [State(self.narrow(st.denies, dim, cm), self.narrow(st.allows, dim, cm))
                         for st in node.states])
                sub = list(masks)
                sub[dim] = cm
                walk(sub, child)

        try:
            walk(masks, self.node(states))
        except _Enough:
            pass
        finally:
            # walk refers to itself, and through self to the nodes and the memo (~300 000 objects for a large
            # diff): dropped here, they go now, not when a full garbage collection finds the cycle (~0.5 s);
            # every full collection until then walked them again
            self.nodes.clear()
            self.restricted.clear()
        return found
