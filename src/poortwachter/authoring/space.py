"""The finite decision space of one or more bundles: every fact a rule mentions, with its domain.

Rules only see derived facts from closed sets, and integer facts are only compared with declared
thresholds, so each fact has finitely many *distinguishable* values:

* ``enum`` facts: their vocabulary values (``none`` included);
* ``bool`` facts: false, true (an absent attestation reads as false, as in the evaluator);
* ``int`` facts: the intervals between the bundle's declared thresholds (and the constants rules
  compare with), e.g. ``client.age`` with thresholds 12, 16, 18 → 0–11, 12–15, 16–17, 18+;
* ``str`` facts (custom vocabularies: open strings): the constants rules mention, plus
  :data:`OTHER` standing for every other string.

A set of values of one fact is a bit mask over its domain; a *region* is one mask per fact (a
conjunction of fact constraints). Facts no rule mentions are not in the space: no verdict depends
on them. ``action.name`` and ``resource.category`` are always in it, because they index rules.

The space also knows the few dependencies between derived facts that no request can break (a
valid consent is a function of age and who consented; a disclosure has a recipient …), so the
analysis can leave out combinations no request can produce (constraints.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from operator import itemgetter
from typing import Any

from ..core.policy.model import Bundle, Leaf, leaves
from ..core.policy.values import FactValue
from ..core.vocabulary import NONE, YEAR_FACTS, FactKind, FactSpec
from .constraints import _ACTION, _CATEGORY, CONSENT_VALID, Constraint, youth_care_constraints

OTHER = "(other)"
"""The value of a ``str`` fact that equals none of the constants the rules mention."""

Interval = tuple[int | None, int | None]  # inclusive bounds; None: unbounded

_LOWEST = {"client.age": 0, **dict.fromkeys(YEAR_FACTS, -1)}
_UNKNOWN_BELOW_ZERO = set(YEAR_FACTS)
_IMPOSSIBLE = {"subject.type": ("none",)}  # youth-care: every request has a subject of a known type


@dataclass(frozen=True)
class Dim:
    """One fact of the space and its finite domain."""

    name: str
    kind: FactKind
    values: tuple[Any, ...]  # enum/str: strings; bool: (False, True); int: Interval per value
    spec: FactSpec

    @property
    def size(self) -> int:
        return len(self.values)

    @property
    def full(self) -> int:
        return (1 << len(self.values)) - 1

    def index(self, value: FactValue | None) -> int:
        """The domain index of a concrete fact value (absent booleans read as false)."""
        if self.kind == "bool":
            return 1 if value is True else 0
        if self.kind == "int":
            assert isinstance(value, int)
            for i, (lo, hi) in enumerate(self.values):
                if (lo is None or value >= lo) and (hi is None or value <= hi):
                    return i
            raise ValueError(f"{value} lies outside the domain of {self.name}")
        if self.kind == "str":
            return self.values.index(value) if value in self.values[:-1] else len(self.values) - 1
        return self.values.index(value)

    def sample(self, i: int) -> FactValue:
        """A concrete value of domain element ``i`` (for examples and tests)."""
        value = self.values[i]
        if self.kind == "int":
            lo, hi = value
            return lo if lo is not None else (hi if hi is not None else 0)
        if self.kind == "str" and value == OTHER:
            return "something-else"
        return value  # type: ignore[no-any-return]

    def members(self, mask: int) -> list[int]:
        return [i for i in range(len(self.values)) if mask >> i & 1]

    def mask_of(self, values: Iterable[FactValue]) -> int:
        m = 0
        for v in values:
            m |= 1 << self.index(v)
        return m

    # -- words -------------------------------------------------------------------------------

    def label(self, i: int) -> str:
        value = self.values[i]
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "int":
            return _interval_text(self.name, *value)
        return str(value)

    def describe(self, mask: int) -> str:
        """The constraint ``mask`` in short words: ``relation ∈ {ouder, voogd}``, ``age 12–15``."""
        return f"{self.name} {self.constraint(mask)}"

    def constraint(self, mask: int) -> str:
        """Only the constraint part: ``= ouder``, ``∉ {self}``, ``12–15``, ``true``."""
        if mask == self.full:
            return "any"
        if mask == 0:
            return "impossible"
        idx = self.members(mask)
        if self.kind == "bool":
            return "true" if idx == [1] else "false"
        if self.kind == "int":
            return _runs_text(self, idx)
        names = [str(self.values[i]) for i in idx]
        rest = [str(self.values[i]) for i in range(self.size) if not mask >> i & 1]
        if len(names) == 1:
            return f"= {names[0]}"
        if len(rest) < len(names):
            return f"≠ {rest[0]}" if len(rest) == 1 else f"∉ {{{', '.join(rest)}}}"
        return f"∈ {{{', '.join(names)}}}"

    def value_words(self, mask: int) -> list[str]:
        """The values of ``mask`` as labels (for tables with one column per fact)."""
        if mask == self.full:
            return []
        if self.kind == "int":
            return [_runs_text(self, self.members(mask))]
        return [self.label(i) for i in self.members(mask)]


def _interval_text(name: str, lo: int | None, hi: int | None) -> str:
    if name in _UNKNOWN_BELOW_ZERO and hi == -1:
        return "unknown"
    if lo is None and hi is None:
        return "any"
    if lo is None:
        return f"< {hi + 1}"  # type: ignore[operator]
    if hi is None:
        return f"{lo}+"
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def _runs_text(dim: Dim, idx: list[int]) -> str:
    runs: list[list[int]] = []
    for i in idx:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    parts = []
    for run in runs:
        lo, hi = dim.values[run[0]][0], dim.values[run[-1]][1]
        if dim.name in _UNKNOWN_BELOW_ZERO and lo == -1 and hi is not None and hi >= 0:
            parts.append(f"{_interval_text(dim.name, 0, hi)} or unknown")
        else:
            parts.append(_interval_text(dim.name, lo, hi))
    return " or ".join(parts)


# ---------------------------------------------------------------------------------------------
# the space


class Space:
    """The facts that matter to ``bundles`` (one bundle for a table, two for a diff)."""

    def __init__(self, bundles: Sequence[Bundle], extra_facts: Iterable[str] = (),
                 expand_consent: bool | None = None) -> None:
        if not bundles:
            raise ValueError("a space needs at least one bundle")
        self.bundles = tuple(bundles)
        if expand_consent is None:
            expand_consent = len({b.consent_by_age for b in bundles if b.vocabulary.youth_care}) > 1
        self.expand_consent = expand_consent
        """``consent.valid`` means something else in each bundle (other consent_by_age): rules see it
        replaced by its definition over client.age, consent.self and consent.gezag."""
        specs: dict[str, FactSpec] = {}
        for b in bundles:
            for name, spec in b.vocabulary.facts.items():
                old = specs.get(name)
                if old is not None and (old.kind != spec.kind or (old.kind == "enum" and old.values != spec.values)):
                    raise ValueError(f"the bundles disagree on fact {name}: {old.kind} {old.values} "
                                     f"against {spec.kind} {spec.values}")
                specs.setdefault(name, spec)
        self.specs = specs
        mentioned: dict[str, list[Leaf]] = {}
        for b in bundles:
            for rule in b.rules:
                for leaf in leaves(rule.condition):
                    mentioned.setdefault(leaf.fact, []).append(leaf)
        if expand_consent and mentioned.pop(CONSENT_VALID, None) is not None:
            for fact in ("client.age", "consent.self", "consent.gezag", "client.wilsonbekwaam"):
                mentioned.setdefault(fact, [])
        wanted = {_ACTION, *mentioned, *(f for f in extra_facts if f in specs)}
        if _CATEGORY in specs:
            wanted.add(_CATEGORY)
        order = [_ACTION, _CATEGORY] + [n for n in specs if n not in (_ACTION, _CATEGORY)]
        self.dims: tuple[Dim, ...] = tuple(self._dim(specs[n], mentioned.get(n, [])) for n in order if n in wanted)
        self.index: dict[str, int] = {d.name: i for i, d in enumerate(self.dims)}
        self.full: tuple[int, ...] = tuple(d.full for d in self.dims)
        self.constraints = self._constraints()
        self._feasible_cache: dict[tuple[int, tuple[int, ...]], bool] = {}
        involved = sorted({i for _, inside in self.constraints for i in inside})
        self._involved: Callable[[Sequence[int]], Any] = itemgetter(*involved) if involved else (lambda m: ())
        self._feasible_by_masks: dict[Any, bool] = {}
        """Whether a region is feasible depends only on the masks of the facts in a constraint: a
        large diff asks for 100 000 regions and a few hundred combinations of those masks."""

    def _dim(self, spec: FactSpec, found: list[Leaf]) -> Dim:
        if spec.kind == "bool":
            return Dim(spec.name, "bool", (False, True), spec)
        if spec.kind == "enum":
            drop = _IMPOSSIBLE.get(spec.name, ()) if self.bundles[0].vocabulary.youth_care else ()
            return Dim(spec.name, "enum", tuple(v for v in spec.values if v not in drop), spec)
        if spec.kind == "str":
            constants: list[str] = []
            for leaf in found:
                for v in leaf.value if isinstance(leaf.value, tuple) else (leaf.value,):
                    if isinstance(v, str) and v not in constants:
                        constants.append(v)
            return Dim(spec.name, "str", (*sorted(constants), OTHER), spec)
        cuts: set[int] = set()
        for b in self.bundles:
            cuts.update(b.thresholds.get(spec.name, ()))
            if spec.name == "client.age" and b.vocabulary.youth_care:
                cuts.update(band.below for band in b.consent_by_age if band.below is not None)
        for leaf in found:
            t = int(leaf.value)  # type: ignore[arg-type]
            cuts.add(t + 1 if leaf.op in ("gt", "lte") else t)
        lowest = _LOWEST.get(spec.name) if self.bundles[0].vocabulary.youth_care else None
        if spec.name in _UNKNOWN_BELOW_ZERO:
            cuts.add(0)
        points = sorted(c for c in cuts if lowest is None or c > lowest)
        intervals: list[Interval] = []
        lo: int | None = lowest
        for c in points:
            intervals.append((lo, c - 1))
            lo = c
        intervals.append((lo, None))
        return Dim(spec.name, "int", tuple(intervals), spec)

    def _constraints(self) -> list[tuple[Constraint, tuple[int, ...]]]:
        if not self.bundles[0].vocabulary.youth_care:
            return []
        kept = []
        for c in youth_care_constraints(self.bundles, self.expand_consent):
            inside = tuple(self.index[f] for f in c.facts if f in self.index)
            # a constraint with fewer than two facts inside the space cannot cut a region (every
            # single value of these facts occurs in some request)
            if len(inside) >= 2 and all(f in self.index or f in c.samples or self._small(f) for f in c.facts):
                kept.append((c, inside))
        return kept

    def _small(self, fact: str) -> bool:
        spec = self.specs.get(fact)
        return spec is not None and (spec.kind == "bool" or (spec.kind == "enum" and len(spec.values) <= 32))

    def _outside_values(self, c: Constraint, fact: str) -> tuple[FactValue, ...]:
        if fact in c.samples:
            return c.samples[fact]
        spec = self.specs[fact]
        return (False, True) if spec.kind == "bool" else spec.values

    # -- regions -------------------------------------------------------------------------------

    def dim(self, name: str) -> Dim:
        return self.dims[self.index[name]]

    def feasible(self, masks: Sequence[int]) -> bool:
        """False only if no request can produce any combination in the region."""
        if not self.constraints:
            return True
        key = self._involved(masks)  # the masks of the facts a constraint links (one C call)
        ok = self._feasible_by_masks.get(key)
        if ok is None:
            ok = self._feasible_by_masks[key] = self._feasible(masks)
        return ok

    def _feasible(self, masks: Sequence[int]) -> bool:
        for n, (c, inside) in enumerate(self.constraints):
            part = tuple(masks[i] for i in inside)
            if part == tuple(self.full[i] for i in inside):
                continue
            key = (n, part)
            ok = self._feasible_cache.get(key)
            if ok is None:
                ok = self._feasible_cache[key] = self._holds_on(c, masks)
            if not ok:
                return False
        return True

    def locate(self, facts: Mapping[str, FactValue]) -> tuple[int, ...]:
        """The domain index of every fact of the space in a concrete fact assignment."""
        out = []
        for d in self.dims:
            value = facts.get(d.name)
            if value is None and d.kind != "bool":
                value = NONE if d.kind in ("enum", "str") else value
            out.append(d.index(value))
        return tuple(out)

    def contains(self, masks: Sequence[int], point: Sequence[int]) -> bool:
        return all(m >> p & 1 for m, p in zip(masks, point))

    def sample(self, masks: Sequence[int]) -> dict[str, FactValue]:
        """One concrete fact assignment inside a feasible region, respecting the constraints."""
        point = [d.members(m)[0] for d, m in zip(self.dims, masks)]
        involved = sorted({i for _, inside in self.constraints for i in inside})

        def fits(upto: int) -> bool:
            done = set(involved[:upto])
            single = [1 << p for p in point]
            for c, inside in self.constraints:
                if set(inside) <= done and not self._holds_on(c, single):
                    return False
            return True

        def search(k: int) -> bool:
            if k == len(involved):
                return True
            i = involved[k]
            for v in self.dims[i].members(masks[i]):
                point[i] = v
                if fits(k + 1) and search(k + 1):
                    return True
            return False

        search(0)
        return {d.name: d.sample(p) for d, p in zip(self.dims, point)}

    def _holds_on(self, c: Constraint, masks: Sequence[int]) -> bool:
        choices = []
        for f in c.facts:
            if f in self.index:
                d = self.dims[self.index[f]]
                choices.append([d.sample(i) for i in d.members(masks[self.index[f]])])
            else:
                choices.append(list(self._outside_values(c, f)))
        return any(c.holds(dict(zip(c.facts, combo))) for combo in product(*choices))

    def describe(self, masks: Sequence[int], skip: Iterable[str] = ()) -> list[str]:
        """The constraints of a region in words (facts left free are not mentioned)."""
        skipped = set(skip)
        return [d.describe(m) for d, m in zip(self.dims, masks) if m != d.full and d.name not in skipped]
