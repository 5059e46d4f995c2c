"""The leaf regions of a split, merged, put in order and looked up.

:func:`merge` joins regions with equal keys that differ in one fact only, until nothing merges;
:func:`sort_regions` puts them in a stable order; a :class:`Locator` finds the region of a point of
the space by bit sets (what the tests and ``Diff.change_at`` ask thousands of times).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from itertools import chain, compress, filterfalse
from operator import not_, or_
from struct import Struct
from typing import Any

from ..core.policy.values import FactValue
from .programs import Region
from .space import Space


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
