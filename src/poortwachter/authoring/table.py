"""Exact symbolic analysis of bundles: the complete decision table, as few readable rows.

The decision space of a bundle is finite (see :mod:`.space`). The analysis splits it recursively,
like a decision diagram without sharing: at each step the rules still in play are simplified under
the constraints found so far (a condition over a fact whose allowed values all satisfy it becomes
true, none of them false), and only when the verdict is not yet settled is one more fact split, into
the classes of values the remaining conditions tell apart. The leaves are disjoint regions, one
verdict each; regions with the same verdict that differ in one fact only are then merged, until
nothing merges. The result covers every combination exactly once (combinations no request can
produce, see :class:`.space.Constraint`, are left out) — no sampling.

The same engine analyses two bundles at once (a leaf is reached when both verdicts are settled),
which is what :mod:`.diff` uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.facts import ConsentBand, FactValue
from ..core.policy.model import All, AnyOf, Bundle, Condition, Leaf, Not, Rule
from .space import _ACTION, _CATEGORY, CONSENT_VALID, Dim, Space

# ---------------------------------------------------------------------------------------------
# conditions as literal trees (negation normal form over fact masks)

TRUE: tuple[Any, ...] = ("T",)
FALSE: tuple[Any, ...] = ("F",)
LIT, AND, OR = "L", "A", "O"
Cond = tuple[Any, ...]  # TRUE | FALSE | (LIT, dim, mask) | (AND|OR, (cond, …))


def _lit(dim: int, mask: int, full: int) -> Cond:
    if mask == full:
        return TRUE
    if mask == 0:
        return FALSE
    return (LIT, dim, mask)


def _join(tag: str, items: Iterable[Cond]) -> Cond:
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
        return _lit(i, full & ~mask if negate else mask, full)
    if isinstance(cond, Not):
        return to_literals(cond.item, space, not negate, valid)
    tag = AND if isinstance(cond, All) else OR
    if negate:
        tag = OR if tag == AND else AND
    assert isinstance(cond, All | AnyOf)
    return _join(tag, (to_literals(c, space, negate, valid) for c in cond.items))


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
        return _join(tag, new)
    return c


def _collect(c: Cond, into: dict[int, set[int]]) -> None:
    if c[0] == LIT:
        into.setdefault(c[1], set()).add(c[2])
    elif c[0] in (AND, OR):
        for x in c[1]:
            _collect(x, into)


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
            parts = [_lit(space.index[_ACTION], actions.mask_of(a for a in actions.values
                                                                  if rule.actions is None or a in rule.actions),
                          actions.full)]
            if cat_spec is not None:
                cats = space.dim(_CATEGORY)
                indexed = cat_spec.values if cat_spec.kind == "enum" else ()  # as compile_bundle indexes
                ok = [c for c in cats.values if c in indexed and (rule.categories is None or c in rule.categories)]
                parts.append(_lit(space.index[_CATEGORY], cats.mask_of(ok), cats.full))
            parts.append(to_literals(rule.condition, space, valid=valid))
            self.items.append((i, rule, _join(AND, parts)))
        self._outcomes: dict[tuple[bool, tuple[int, ...]], Outcome] = {}

    def cond_of(self, rule_id: str) -> Cond | None:
        return next((c for _, r, c in self.items if r.id == rule_id), None)

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


def kind_settle(states: Sequence[State]) -> tuple[Any, list[Cond]]:
    kinds, rel = [], []
    for st in states:
        k, r = settle_kind(st)
        kinds.append(k)
        rel.extend(r)
    return (None, rel) if rel else (tuple(kinds), [])


class _Enough(Exception):
    pass


class TooLarge(Exception):
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
            order: Sequence[str] = (), only: Iterable[str] | None = None, limit: int | None = None) -> list[Region]:
    """The disjoint leaf regions of the split (before merging), feasible ones only.

    ``settle`` says when a node's key (verdict, change, …) is known; ``start`` limits the space (a
    mask per fact); ``order`` names facts to split first whenever the key still depends on them
    (the matrix splits on who/what/age first); ``only`` limits splitting to these facts (the
    settle function must then only ask for conditions over them); ``limit`` stops after that many
    regions (lint asks "is there any …?").
    """
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
            _collect(c, mine)
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


def merge(regions: Iterable[Region], space: Space) -> list[Region]:
    """Merge regions with equal keys that differ in one fact only, until nothing merges.

    Masks are packed into one integer per region (each fact at its own bit offset), so "equal but
    for fact d" is one AND and the union is one OR.
    """
    offsets: list[int] = []
    off = 0
    for dim in space.dims:
        offsets.append(off)
        off += dim.size
    clear = [((1 << off) - 1) ^ (space.full[i] << offsets[i]) for i in range(len(offsets))]
    ids: dict[Any, int] = {}
    keys: list[Any] = []
    current: list[tuple[int, int]] = []
    varying: set[int] = set()
    for r in regions:
        k = ids.setdefault(r.key, len(ids))
        if k == len(keys):
            keys.append(r.key)
        packed = 0
        for i, m in enumerate(r.masks):
            packed |= m << offsets[i]
            if m != space.full[i]:
                varying.add(i)
        current.append((k, packed))
    while True:
        before = len(current)
        for d in sorted(varying):
            cd = clear[d]
            groups: dict[tuple[int, int], int] = {}
            for k, packed in current:
                g = (k, packed & cd)
                groups[g] = groups.get(g, 0) | packed
            if len(groups) < len(current):
                current = [(g[0], v) for g, v in groups.items()]
        if len(current) == before:
            break
    out = []
    for k, packed in current:
        masks = tuple((packed >> offsets[i]) & space.full[i] for i in range(len(offsets)))
        out.append(Region(masks, keys[k]))
    return out


def sort_regions(regions: Iterable[Region]) -> list[Region]:
    return sorted(regions, key=lambda r: tuple(((m & -m).bit_length(), -m.bit_count()) for m in r.masks))


def find(space: Space, regions: Iterable[Region], facts: Mapping[str, FactValue]) -> Region | None:
    """The region holding a concrete fact assignment, if any."""
    point = space.locate(facts)
    return next((r for r in regions if space.contains(r.masks, point)), None)


# ---------------------------------------------------------------------------------------------
# the table

BY = ("action.name", "resource.category", "subject.type", "subject.relation", "subject.gezag", "client.age")
"""The facts rows are laid out by (who does what to which category at which age), if the space has them."""


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
    _collect(c, found)
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


@dataclass(frozen=True, slots=True)
class Entry:
    """A rule within a row, with the part of its condition the row's constraints leave open."""

    index: int
    rule: Rule
    cond: Cond

    @property
    def always(self) -> bool:
        return self.cond is TRUE


@dataclass(frozen=True, slots=True)
class Row:
    """Who/what/age constraints, and the decision list that decides every combination in them:
    deny if any refusal's condition holds (naming all that hold); else allow if any permission's
    condition holds (naming all that hold); else deny by default."""

    masks: tuple[int, ...]
    refusals: tuple[Entry, ...]
    permissions: tuple[Entry, ...]

    @property
    def summary(self) -> str:
        if any(e.always for e in self.refusals):
            return "deny"
        if any(e.always for e in self.permissions):
            return "allow, unless refused" if self.refusals else "allow"
        if self.permissions:
            return "allow if …"
        return "deny (no rule allows)"

    @property
    def colour(self) -> str:
        """allow | conditional | deny | default: the matrix's colours."""
        return {"deny": "deny", "allow": "allow", "allow, unless refused": "allow", "allow if …": "conditional",
                "deny (no rule allows)": "default"}[self.summary]


def _row_key(states: Sequence[State], by: set[int]) -> tuple[Any, list[Cond]]:
    st = states[0]
    rel = [c for _, c in (*st.denies, *st.allows) if c is not TRUE and mentions(c, by)]
    if rel:
        return None, rel
    return (tuple(st.denies), tuple(st.allows)), []


class Table:
    """The complete decision table of one bundle, as rows over who/what/age (see :data:`BY`).

    Splitting stops at the facts of ``by``: a row is a combination of classes of these facts, and
    holds the rules that can still apply there, each with what is left of its condition. Every
    combination of facts lies in exactly one row, and the row's decision list gives its verdict,
    exactly as the evaluator does (deny overrides allow and names every deny rule that applies;
    without any applicable rule, default deny). Rows with the same list are merged.
    """

    def __init__(self, bundle: Bundle, by: Sequence[str] = BY, space: Space | None = None) -> None:
        self.bundle = bundle
        self.space = space or Space((bundle,))
        self.by = tuple(f for f in by if f in self.space.index)
        self.program = Program(bundle, self.space)
        dims = {self.space.index[f] for f in self.by}
        self.cells = explore(self.space, [self.program], lambda s: _row_key(s, dims), order=self.by, only=self.by)
        rules = bundle.rules
        self.rows: list[Row] = []
        for r in sort_regions(merge(self.cells, self.space)):
            denies, allows = r.key
            self.rows.append(Row(r.masks, tuple(Entry(i, rules[i], c) for i, c in denies),
                                 tuple(Entry(i, rules[i], c) for i, c in allows)))

    def row_at(self, facts: Mapping[str, FactValue]) -> Row:
        """The row of the facts (only the facts of ``by`` are needed)."""
        dims = [(self.space.index[f], self.space.dim(f).index(facts.get(f))) for f in self.by]
        for row in self.rows:
            if all(row.masks[d] >> i & 1 for d, i in dims):
                return row
        raise KeyError("no row holds these facts (a combination no request can produce)")

    def verdict(self, facts: Mapping[str, FactValue]) -> Outcome:
        """The table's verdict on concrete facts: the row's decision list, evaluated."""
        row = self.row_at(facts)
        point = self.space.locate(facts)
        denied = [e.index for e in row.refusals if holds(e.cond, point)]
        if denied:
            return self.program.outcome(False, denied)
        allowed = [e.index for e in row.permissions if holds(e.cond, point)]
        return self.program.outcome(True, allowed) if allowed else DEFAULT_DENY

    def deciding(self) -> set[str]:
        return {e.rule.id for row in self.rows for e in (*row.refusals, *row.permissions)}


class FlatTable:
    """Disjoint regions, each with one exact verdict (deciding rules and obligations).

    Exact and simple, but overlapping rules multiply rows (every combination of applicable deny
    rules is its own verdict): meant for small bundles and for checking; ``max_leaves`` guards.
    """

    def __init__(self, bundle: Bundle, max_leaves: int = 20_000, space: Space | None = None) -> None:
        self.bundle = bundle
        self.space = space or Space((bundle,))
        self.program = Program(bundle, self.space)
        settle = guarded(outcomes_settle([self.program]), max_leaves,
                         f"{bundle.key}: the flat table (use the row table)")
        leaves = explore(self.space, [self.program], settle)
        self.regions = sort_regions(merge((Region(r.masks, r.key[0]) for r in leaves), self.space))

    def verdict(self, facts: Mapping[str, FactValue]) -> Outcome:
        found = find(self.space, self.regions, facts)
        if found is None:
            raise KeyError("no region holds these facts (a combination no request can produce)")
        return found.key  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# rendering


def _cell(dim: Dim, mask: int) -> str:
    if mask == dim.full:
        return "any"
    return dim.constraint(mask).removeprefix("= ")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _entries(space: Space, entries: Sequence[Entry]) -> str:
    return "<br>".join(f"`{e.rule.id}`" + ("" if e.always else f" if {cond_words(space, e.cond)}")
                       for e in entries) or "–"


def _obligations(entries: Sequence[Entry]) -> str:
    seen: dict[str, None] = {}
    for e in entries:
        for o in e.rule.obligations:
            seen.setdefault(o)
    return ", ".join(seen) or "–"


def render_markdown(table: Table) -> str:
    b, space = table.bundle, table.space
    by = [f for f in table.by if f not in (_ACTION,)]
    counts: dict[str, int] = {}
    for row in table.rows:
        counts[row.summary] = counts.get(row.summary, 0) + 1
    lines = [
        f"# Decision table: {b.key}",
        "",
        *([b.description, ""] if b.description else []),
        (f"Every combination of the {len(space.dims)} facts the rules depend on falls in exactly one row. "
        f"Rows are laid out by {', '.join(f'`{f}`' for f in table.by)}; a row lists the deny rules that can "
        "still apply there and the allow rules that can, each with what is left of its condition. The verdict: "
        "**deny** if a listed refusal holds (naming every one that holds, with their obligations), otherwise "
        "**allow** if a listed permission holds, otherwise **deny by default** (no rule applies)."),
        "",
        f"{len(table.rows)} rows: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".",
        "",
        "| # | action | " + " | ".join(f.split(".")[-1] for f in by) + " | verdict | refused when | allowed when "
        "| obligations (allow) |",
        "|---" * (len(by) + 6) + "|",
    ]
    for n, row in enumerate(table.rows, 1):
        cells = [str(n), _cell(space.dim(_ACTION), row.masks[space.index[_ACTION]])]
        cells += [_cell(space.dim(f), row.masks[space.index[f]]) for f in by]
        cells += [f"**{row.summary}**" if row.summary.startswith("allow") else row.summary,
                  _entries(space, row.refusals), _entries(space, row.permissions), _obligations(row.permissions)]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render_csv(table: Table) -> str:
    space = table.space
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["row", *table.by, "verdict", "refused_when", "allowed_when", "obligations"])
    for n, row in enumerate(table.rows, 1):
        w.writerow([n, *(" | ".join(space.dim(f).value_words(row.masks[space.index[f]])) or "any" for f in table.by),
                    row.summary,
                    " ; ".join(f"{e.rule.id}: {cond_words(space, e.cond)}" for e in row.refusals),
                    " ; ".join(f"{e.rule.id}: {cond_words(space, e.cond)}" for e in row.permissions),
                    _obligations(row.permissions).replace("–", "")])
    return out.getvalue()


def region_json(space: Space, masks: Sequence[int]) -> dict[str, list[str]]:
    return {d.name: d.value_words(m) for d, m in zip(space.dims, masks) if m != d.full}


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


def table_json(table: Table) -> dict[str, Any]:
    space = table.space

    def entry(e: Entry) -> dict[str, Any]:
        return {"rule": e.rule.id, "when": cond_json(space, e.cond), "obligations": list(e.rule.obligations)}

    return {
        "bundle": {"name": table.bundle.name, "version": table.bundle.version},
        "by": list(table.by),
        "facts": [{"name": d.name, "kind": d.kind, "values": [d.label(i) for i in range(d.size)]} for d in space.dims],
        "rows": [{"row": n, "where": region_json(space, row.masks), "verdict": row.summary,
                  "refusals": [entry(e) for e in row.refusals], "permissions": [entry(e) for e in row.permissions]}
                 for n, row in enumerate(table.rows, 1)],
    }


def flat_markdown(table: FlatTable) -> str:
    space = table.space
    lines = [f"# Decision table (flat): {table.bundle.key}", "",
             f"{len(table.regions)} disjoint regions; a fact a row does not mention may take any value.", "",
             "| # | action | when | verdict | deciding rules | obligations |", "|---|---|---|---|---|---|"]
    for n, r in enumerate(table.regions, 1):
        o: Outcome = r.key
        when = " · ".join(space.describe(r.masks, skip=(_ACTION,))) or "always"
        lines.append("| " + " | ".join(_md(c) for c in (
            str(n), _cell(space.dim(_ACTION), r.masks[space.index[_ACTION]]), when, o.verdict,
            ", ".join(o.rules), ", ".join(o.obligations) or "–")) + " |")
    return "\n".join(lines) + "\n"
