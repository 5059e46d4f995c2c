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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import chain, compress, filterfalse
from operator import not_, or_
from struct import Struct
from typing import Any

from ..core.errors import PoortwachterError
from ..core.policy.model import Bundle, Rule
from ..core.policy.values import FactValue
from .constraints import _ACTION, _CATEGORY
from .literals import AND, FALSE, TRUE, Cond, collect, consent_definition, join, lit, restrict, to_literals
from .space import Space

# ---------------------------------------------------------------------------------------------
# programs and outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on a region: decision, deciding rules (bundle order) and obligation ids."""

    decision: bool
    rules: tuple[str, ...]
    obligations: tuple[str, ...]

    @property
    def default(self) -> bool:
        return self.rules == ("default-deny",)

    @property
    def verdict(self) -> str:
        return "allow" if self.decision else "deny (default)" if self.default else "deny"

    def as_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "default": self.default, "rules": list(self.rules),
                "obligations": list(self.obligations)}


DEFAULT_DENY = Outcome(False, ("default-deny",), ())


class Program:
    """Rules of a bundle as literal trees over a space (each includes its action and category).

    ``keep`` selects rules (the table's layers analyse deny and allow rules apart); indices stay
    those of the bundle, so deciding rules keep bundle order.
    """

    def __init__(self, bundle: Bundle, space: Space, keep: Callable[[Rule], bool] | None = None) -> None:
        self.bundle = bundle
        self.all_rules: tuple[Rule, ...] = bundle.rules
        actions = space.dim(_ACTION)
        cat_spec = bundle.vocabulary.fact(_CATEGORY)
        valid = consent_definition(bundle.consent_by_age) if space.expand_consent else None
        self.items: list[tuple[int, Rule, Cond]] = []
        for i, rule in enumerate(bundle.rules):
            if keep is not None and not keep(rule):
                continue
            parts = [lit(space.index[_ACTION], actions.mask_of(a for a in actions.values
                                                                  if rule.actions is None or a in rule.actions),
                          actions.full)]
            if cat_spec is not None:
                cats = space.dim(_CATEGORY)
                indexed = cat_spec.values if cat_spec.kind == "enum" else ()  # as compile_bundle indexes
                ok = [c for c in cats.values if c in indexed and (rule.categories is None or c in rule.categories)]
                parts.append(lit(space.index[_CATEGORY], cats.mask_of(ok), cats.full))
            parts.append(to_literals(rule.condition, space, valid=valid))
            self.items.append((i, rule, join(AND, parts)))
        self._outcomes: dict[tuple[bool, tuple[int, ...]], Outcome] = {}

    def outcome(self, decision: bool, indices: Sequence[int]) -> Outcome:
        key = (decision, tuple(indices))
        found = self._outcomes.get(key)
        if found is None:
            rules = [self.all_rules[i] for i in sorted(indices)]
            obligations: dict[str, None] = {}
            for r in rules:
                for o in r.obligations:
                    obligations.setdefault(o)
            found = Outcome(decision, tuple(r.id for r in rules), tuple(obligations))
            self._outcomes[key] = found
        return found


# ---------------------------------------------------------------------------------------------
# the engine


@dataclass(frozen=True, slots=True)
class Region:
    """A conjunction of fact constraints (one mask per fact of the space) and what holds there."""

    masks: tuple[int, ...]
    key: Any  # an Outcome, a tuple of them, a diff.Change …


class State:
    """The rules of one program not yet false at a node: (rule index, residual condition)."""

    __slots__ = ("allows", "denies")

    def __init__(self, denies: list[tuple[int, Cond]], allows: list[tuple[int, Cond]]) -> None:
        self.denies, self.allows = denies, allows


SKIP = object()
"""A settle function's answer for a subtree that is settled and not wanted (e.g. unchanged)."""

Settle = Callable[[Sequence[State]], tuple[Any, list[Cond]]]
"""(states) → (key, []) when settled (SKIP: leave it out), or (None, conditions to split on)."""


def settle_outcome(program: Program, st: State) -> tuple[Outcome | None, list[Cond]]:
    """The full verdict (every applicable rule of the deciding effect), or what it depends on."""
    dt = [i for i, c in st.denies if c is TRUE]
    du = [c for _, c in st.denies if c is not TRUE]
    if dt:
        return (program.outcome(False, dt), []) if not du else (None, du)
    au = [c for _, c in st.allows if c is not TRUE]
    if du:
        return None, du + au
    if au:
        return None, au
    at = [i for i, c in st.allows if c is TRUE]
    return (program.outcome(True, at) if at else DEFAULT_DENY), []


def settle_kind(st: State) -> tuple[str | None, list[Cond]]:
    """Only the kind of verdict: allow, deny (by a rule) or default (no rule applied)."""
    if any(c is TRUE for _, c in st.denies):
        return "deny", []
    du = [c for _, c in st.denies]
    allow_true = any(c is TRUE for _, c in st.allows)
    au = [c for _, c in st.allows if c is not TRUE]
    if du:
        return None, du if allow_true else du + au
    if allow_true:
        return "allow", []
    return (None, au) if au else ("default", [])


def outcomes_settle(programs: Sequence[Program]) -> Settle:
    def settle(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        found, rel = [], []
        for p, st in zip(programs, states):
            o, r = settle_outcome(p, st)
            found.append(o)
            rel.extend(r)
        return (None, rel) if rel else (tuple(found), [])
    return settle


class _Enough(Exception):
    pass


class TooLarge(PoortwachterError):
    """An analysis would have more regions than its limit (the bundles are too different to list)."""


def guarded(settle: Settle, limit: int, what: str) -> Settle:
    """``settle`` that raises :class:`TooLarge` after ``limit`` settled leaves."""
    count = 0

    def inner(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        nonlocal count
        key, rel = settle(states)
        if not rel:
            count += 1
            if count > limit:
                raise TooLarge(f"{what}: more than {limit} regions")
        return key, rel
    return inner


def _narrow(pairs: list[tuple[int, Cond]], dim: int, mask: int) -> list[tuple[int, Cond]]:
    out = []
    for i, c in pairs:
        r = restrict(c, dim, mask)
        if r is not FALSE:
            out.append((i, r))
    return out


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
    found: list[Region] = []

    def walk(masks: list[int], states: list[State]) -> None:
        key, relevant = settle(states)
        if not relevant:
            if key is not SKIP and space.feasible(masks):
                found.append(Region(tuple(masks), key))
                if limit is not None and len(found) >= limit:
                    raise _Enough
            return
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
        classes: dict[tuple[bool, ...], int] = {}
        tests = sorted(lits[dim])
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
        lits: dict[int, set[int]] = {}
        counts: dict[int, int] = {}
        for c in relevant:
            mine: dict[int, set[int]] = {}
            collect(c, mine)
            for d, ms in mine.items():
                if self.allowed is not None and d not in self.allowed:
                    continue
                lits.setdefault(d, set()).update(ms)
                counts[d] = counts.get(d, 0) + 1
        dim = next((d for d in self.first if d in lits), None)
        if dim is None:
            dim = min(lits, key=lambda d: (-counts[d], d))
        node.dim, node.tests = dim, sorted(lits[dim])

    def explore(self, start: Sequence[int] | None, limit: int | None, max_leaves: int | None,
                what: str) -> list[Region]:
        space = self.space
        masks = list(start if start is not None else space.full)
        states = []
        for p in self.programs:
            denies: list[tuple[int, Cond]] = []
            allows: list[tuple[int, Cond]] = []
            for i, rule, cond in p.items:
                for d, m in enumerate(masks):
                    if m != space.full[d]:
                        cond = restrict(cond, d, m)
                if cond is not FALSE:
                    (denies if rule.effect == "deny" else allows).append((i, cond))
            states.append(State(denies, allows))
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
        return found


def merge(regions: Iterable[Region], space: Space) -> list[Region]:
    """Merge regions with equal keys that differ in one fact only, until nothing merges.

    A region is packed into one integer (each fact's mask at its own bit offset, the key's number
    above them), so "equal but for fact d" is one AND and the union is one OR. A pass over fact d
    merges every group of regions equal but for d, in place of the group's first region. Most
    passes merge nothing; a pass is skipped when it provably cannot merge: the regions were
    pairwise distinct on d when d was last looked at, and the regions made since are distinct on
    d from each other and from those (the merged regions of a large diff come out in seconds,
    not minutes, and identical to the plain fixpoint).

    The loops over all regions run in C (struct, map, zip, dict and set operations); Python only
    touches the regions a pass merges. ``dict(zip(rests, regions))`` holds each group at its first
    region's place with its last region as value, so the regions that are no group's last are the
    ones folded into it.
    """
    full = space.full
    layout = _Packing(space)
    ids: dict[Any, int] = {}
    keys: list[Any] = []
    current: list[int] = []  # the packed regions, in order
    for r in regions:
        k = ids.setdefault(r.key, len(ids))
        if k == len(keys):
            keys.append(r.key)
        current.append(layout.pack(r.masks) | k << layout.bits)
    off, offsets = layout.bits, layout.offsets
    facts = layout.pack(full)
    moved = reduce(or_, map(facts.__xor__, current), 0)
    varying = [i for i, o in enumerate(offsets) if moved >> o & full[i]]
    everything = (1 << (off + len(keys).bit_length())) - 1
    made: list[list[int]] = []  # the regions each merging pass made
    gone: set[int] = set()  # the regions merged into others (a region is never made twice)
    seen: dict[int, dict[int, int]] = {}  # fact → every region's rest (all but the fact) when last looked at
    looked: dict[int, int] = {}  # fact → len(made) then
    merged = True
    while merged:
        merged = False
        for d in varying:
            rest = everything ^ (full[d] << offsets[d])
            if d in seen:
                fresh = set(filterfalse(gone.__contains__, chain.from_iterable(made[looked[d]:])))
                fresh_rests = set(map(rest.__and__, fresh))
                if len(fresh_rests) == len(fresh) and seen[d].keys().isdisjoint(fresh_rests):
                    seen[d].update(dict.fromkeys(fresh_rests, 0))
                    looked[d] = len(made)
                    continue
            groups = dict(zip(map(rest.__and__, current), current))  # rest → its group's last region
            if len(groups) < len(current):
                lasts = set(map(id, groups.values()))
                folded: dict[int, int] = {}
                for p in compress(current, map(not_, map(lasts.__contains__, map(id, current)))):
                    g = p & rest
                    folded[g] = folded.get(g, 0) | p
                    gone.add(p)
                batch = []
                for g, p in folded.items():
                    last = groups[g]
                    gone.add(last)
                    groups[g] = union = last | p
                    batch.append(union)
                made.append(batch)
                current = list(groups.values())
                merged = True
            seen[d] = groups  # its keys: not copied into a set
            looked[d] = len(made)
    return [Region(layout.unpack(p), keys[p >> off]) for p in current]


class _Packing:
    """Where each fact's mask sits in a packed region: whole bytes each when every fact has at
    most 64 values (packed and unpacked by one ``struct`` call), else bit after bit."""

    def __init__(self, space: Space) -> None:
        self.full = space.full
        self.offsets: list[int] = []
        sizes = [d.size for d in space.dims]
        if max(sizes) <= 64:
            codes = ["B" if n <= 8 else "H" if n <= 16 else "I" if n <= 32 else "Q" for n in sizes]
            self.struct: Struct | None = Struct("<" + "".join(codes))
            widths = [Struct(c).size * 8 for c in codes]
        else:
            self.struct, widths = None, sizes
        self.bits = 0
        for w in widths:
            self.offsets.append(self.bits)
            self.bits += w
        self.facts = (1 << self.bits) - 1

    def pack(self, masks: Sequence[int]) -> int:
        if self.struct is not None:
            return int.from_bytes(self.struct.pack(*masks), "little")
        packed = 0
        for m, o in zip(masks, self.offsets):
            packed |= m << o
        return packed

    def unpack(self, packed: int) -> tuple[int, ...]:
        if self.struct is not None:
            return self.struct.unpack((packed & self.facts).to_bytes(self.bits // 8, "little"))
        return tuple(packed >> o & f for o, f in zip(self.offsets, self.full))


class _MaskOrder(dict[int, tuple[int, int]]):
    """A mask's place in the order of regions: its lowest value first, then the wider mask."""

    def __missing__(self, m: int) -> tuple[int, int]:
        found = self[m] = ((m & -m).bit_length(), -m.bit_count())
        return found


def sort_regions(regions: Iterable[Region]) -> list[Region]:
    order = _MaskOrder()  # a large diff's regions share a few hundred masks
    return sorted(regions, key=lambda r: tuple(map(order.__getitem__, r.masks)))


class Locator:
    """Finds the region holding a point, in microseconds however many regions there are.

    Per fact and domain value, the set of regions that allow the value is one integer (a bit per
    region); a point's region is in the intersection of its values' sets, and disjoint regions
    leave at most one. A linear scan of a large diff's regions took tens of milliseconds a point.
    """

    def __init__(self, space: Space, regions: Sequence[Region]) -> None:
        self.space, self.regions = space, regions
        self.allowing: list[list[int]] = []
        for dim, column in zip(space.dims, zip(*(r.masks for r in regions))):
            by_mask: dict[int, list[int]] = {}
            for n, m in enumerate(column):
                by_mask.setdefault(m, []).append(n)
            allowing = [0] * dim.size
            for m, members in by_mask.items():
                held = _bits(members, len(regions))
                for v in dim.members(m):
                    allowing[v] |= held
            self.allowing.append(allowing)

    def find(self, facts: Mapping[str, FactValue]) -> Region | None:
        """The region holding a concrete fact assignment, if any."""
        if not self.regions:
            return None
        found = -1
        for allowing, v in zip(self.allowing, self.space.locate(facts)):
            found &= allowing[v]
            if not found:
                return None
        return self.regions[(found & -found).bit_length() - 1]


def _bits(members: Iterable[int], size: int) -> int:
    """The integer with exactly the bits ``members`` set (built in a byte array: linear)."""
    out = bytearray((size + 7) // 8)
    for n in members:
        out[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(out, "little")
