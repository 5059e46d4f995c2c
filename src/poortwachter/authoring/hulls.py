"""Compacting regions: same-key regions replaced by their hull (a box of fact masks) where that is exact.

The merged regions of a diff are correct but many; a hull that covers exactly the regions it
replaces (and nothing of another key) says the same in one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .programs import Region


def count(masks: Sequence[int]) -> int:
    """How many combinations of fact values a box of masks covers."""
    total = 1
    for m in masks:
        total *= m.bit_count()
    return total


def _inside(inner: Sequence[int], outer: Sequence[int]) -> bool:
    return all(i & ~o == 0 for i, o in zip(inner, outer))


def _meets(a: Sequence[int], b: Sequence[int]) -> bool:
    return all(x & y for x, y in zip(a, b))


def hull(regions: Sequence[Region]) -> tuple[int, ...]:
    """The smallest box (a mask per fact) around the regions."""
    masks = list(regions[0].masks)
    for r in regions[1:]:
        masks = [a | b for a, b in zip(masks, r.masks)]
    return tuple(masks)


def compact(regions: Sequence[Region], pairwise_limit: int = 40, total_limit: int = 400) -> list[Region]:
    """Replace same-key regions by their hull where the hull holds nothing else.

    Regions are disjoint, so a hull is exactly their union when its size is the sum of theirs
    and no region of another key meets it. Tries each key's whole group, then (for small groups)
    pairs, greedily; never changes what is covered.
    """
    if len(regions) > total_limit:
        return list(regions)
    groups: dict[Any, list[Region]] = {}
    for r in regions:
        groups.setdefault(r.key, []).append(r)
    out: list[Region] = []
    for key, group in groups.items():
        others = [r for r in regions if r.key != key]

        def exact(members: Sequence[Region], box: tuple[int, ...], others: list[Region] = others) -> bool:
            return (not any(_meets(o.masks, box) for o in others)
                    and sum(count(m.masks) for m in members) == count(box))

        whole = hull(group)
        if len(group) > 1 and exact(group, whole):
            out.append(Region(whole, key))
            continue
        current = list(group)
        merged = len(current) <= pairwise_limit
        while merged:
            merged = False
            for a in range(len(current)):
                for b in range(a + 1, len(current)):
                    h = hull([current[a], current[b]])
                    inside = [r for r in current if _meets(r.masks, h)]
                    if all(_inside(r.masks, h) for r in inside) and exact(inside, h):
                        current = [r for r in current if not _meets(r.masks, h)] + [Region(h, key)]
                        merged = True
                        break
                if merged:
                    break
        out.extend(current)
    return out
