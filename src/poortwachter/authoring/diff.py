"""Exact semantic diff of two bundles: every region where the verdict changes, and the rule changes.

Both bundles are analysed over one space (the union of the facts they mention, the union of their
thresholds). A rule is *unchanged* when it has the same id, effect, actions, categories, condition
and obligations in both; it has the same truth value in both versions at every point, so it can
only matter where a changed rule applies. The split therefore stops — reporting nothing — as soon as
no changed rule can apply, and otherwise goes on until the *change* is settled:

* both versions deny by rules (or both allow): the change is which changed rules are named, and
  which obligations that brings or takes away (unchanged rules applying in both cancel out);
* the kind of verdict differs (allow ↔ deny ↔ default deny): the change names every deciding rule
  of both versions.

Regions with the same change are merged (and compacted, :mod:`.hulls`); :mod:`.diff_render` explains
them in words. The result is exact — the
property tests check it against evaluating both bundles on random facts and requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..core.policy.model import Bundle, Rule, describe
from ..core.policy.values import FactValue
from ..core.verdict import Verdict
from .explore import explore
from .hulls import compact, count
from .literals import TRUE, Cond
from .programs import SKIP, Program, Region, State, settle_kind
from .regions import Locator, merge, sort_regions
from .space import Space

# ---------------------------------------------------------------------------------------------
# what changes on a region


@dataclass(frozen=True, slots=True)
class Change:
    """How the verdict changes on a region.

    ``old``/``new``: ``allow``, ``deny`` (by a rule) or ``default`` (no rule applied). When both are
    the same kind, ``removed``/``added`` are the deciding rules only one version names; when the
    kinds differ they are every deciding rule of each version. Obligations: ids only one version's
    verdict carries.
    """

    old: str
    new: str
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    obligations_removed: tuple[str, ...] = ()
    obligations_added: tuple[str, ...] = ()

    @property
    def decision_changed(self) -> bool:
        return (self.old == "allow") != (self.new == "allow")

    @property
    def kind(self) -> str:
        """``gain`` (now allowed), ``loss`` (no longer allowed), ``rules`` or ``obligations``."""
        if self.decision_changed:
            return "gain" if self.new == "allow" else "loss"
        if self.old != self.new or self.removed or self.added:
            return "rules"
        return "obligations"

    def as_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "kind": self.kind, "rules_removed": list(self.removed),
                "rules_added": list(self.added), "obligations_removed": list(self.obligations_removed),
                "obligations_added": list(self.obligations_added)}


def _kind(v: Verdict) -> str:
    if v.decision:
        return "allow"
    return "default" if v.deciding_rules == ("default-deny",) else "deny"


def change_of(old: Verdict, new: Verdict) -> Change | None:
    """The change between two verdicts, in the diff's terms (None: the same verdict)."""
    ko, kn = _kind(old), _kind(new)
    ro = [r for r in old.deciding_rules if r != "default-deny"]
    rn = [r for r in new.deciding_rules if r != "default-deny"]
    oo, on = list(old.obligation_ids), list(new.obligation_ids)
    if ko == kn:
        removed = tuple(r for r in ro if r not in rn)
        added = tuple(r for r in rn if r not in ro)
    else:
        removed, added = tuple(ro), tuple(rn)
    change = Change(ko, kn, removed, added, tuple(sorted(set(oo) - set(on))), tuple(sorted(set(on) - set(oo))))
    return None if change == Change(ko, kn) and ko == kn else change


# ---------------------------------------------------------------------------------------------
# the settle function of the pair


def _signature(rule: Rule, cond: Cond) -> tuple[Any, ...]:
    return (rule.id, rule.effect, cond, rule.obligations)


class _PairSettle:
    """Settles the change between two programs (old, new) at a node of the split.

    A rule counts as changed at a node unless the other version has a rule with the same id,
    effect and obligations whose condition, restricted to the node, is the same: a rule whose new
    condition differs only outside the node changes nothing inside it. (Rules identical in both
    versions are skipped up front.)
    """

    def __init__(self, old: Program, new: Program) -> None:
        self.old, self.new = old, new
        sig_old = {_signature(r, c) for _, r, c in old.items}
        sig_new = {_signature(r, c) for _, r, c in new.items}
        self.candidates = (
            {i for i, r, c in old.items if _signature(r, c) not in sig_new},
            {i for i, r, c in new.items if _signature(r, c) not in sig_old},
        )
        self.meta = ({i: (r.id, r.effect, r.obligations) for i, r, _ in old.items},
                     {i: (r.id, r.effect, r.obligations) for i, r, _ in new.items})

    def _changed(self, so: State, sn: State) -> tuple[set[int], set[int]]:
        sides = []
        for side, st in ((0, so), (1, sn)):
            cand = self.candidates[side]
            metas = self.meta[side]
            sides.append({metas[i][0]: (i, metas[i], c) for i, c in (*st.denies, *st.allows) if i in cand})
        changed: tuple[set[int], set[int]] = (set(), set())
        for side in (0, 1):
            mine, other = sides[side], sides[1 - side]
            for rid, (i, meta, c) in mine.items():
                twin = other.get(rid)
                if twin is None or twin[1] != meta or twin[2] != c:
                    changed[side].add(i)
        return changed

    def __call__(self, states: Sequence[State]) -> tuple[Any, list[Cond]]:
        so, sn = states
        changed = self._changed(so, sn)
        if not changed[0] and not changed[1]:
            return SKIP, []
        # settle the changed rules first: the regions then follow their conditions, which reads best
        open_changed = [c for side, st in ((0, so), (1, sn)) for i, c in (*st.denies, *st.allows)
                        if i in changed[side] and c is not TRUE]
        if open_changed:
            return None, open_changed
        ko, rel_o = settle_kind(so)
        kn, rel_n = settle_kind(sn)
        if ko is None or kn is None:
            return None, rel_o + rel_n
        if ko == kn == "default":
            return SKIP, []
        progs = (self.old, self.new)
        if ko == kn:
            lists = (so.denies, sn.denies) if ko == "deny" else (so.allows, sn.allows)
            unknown = [c for side in (0, 1) for i, c in lists[side] if i in changed[side] and c is not TRUE]
            if unknown:
                return None, unknown
            ids = [[progs[s].all_rules[i].id for i, _ in lists[s] if i in changed[s]] for s in (0, 1)]
            obl = [{o for i, _ in lists[s] if i in changed[s] for o in progs[s].all_rules[i].obligations}
                   for s in (0, 1)]
            removed_o: list[str] = []
            added_o: list[str] = []
            pending: list[Cond] = []
            for o in sorted(obl[0] ^ obl[1]):
                shared = [c for i, c in lists[0] if i not in changed[0] and o in self.old.all_rules[i].obligations]
                if any(c is TRUE for c in shared):
                    continue
                if shared:
                    pending.extend(shared)
                    continue
                (removed_o if o in obl[0] else added_o).append(o)
            if pending:
                return None, pending
            change = Change(ko, kn, tuple(r for r in ids[0] if r not in ids[1]),
                            tuple(r for r in ids[1] if r not in ids[0]), tuple(removed_o), tuple(added_o))
            if change == Change(ko, kn):
                return SKIP, []
            return change, []
        rel: list[Cond] = []
        for k, st in ((ko, so), (kn, sn)):
            if k != "default":
                rel.extend(c for _, c in (st.denies if k == "deny" else st.allows) if c is not TRUE)
        if rel:
            return None, rel
        full: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        for kind, st, p in ((ko, so, self.old), (kn, sn, self.new)):
            if kind == "default":
                full.append(((), ()))
                continue
            idx = sorted(i for i, _ in (st.denies if kind == "deny" else st.allows))
            got = p.outcome(kind == "allow", idx)
            full.append((got.rules, got.obligations))
        (ro, oo), (rn, on) = full
        return Change(ko, kn, ro, rn, tuple(sorted(set(oo) - set(on))), tuple(sorted(set(on) - set(oo)))), []


# ---------------------------------------------------------------------------------------------
# the diff


@dataclass
class RuleChange:
    id: str
    what: str  # added, removed, changed, text
    details: list[str] = field(default_factory=list)


class Diff:
    """Every region of the space where the verdict, obligations or deciding rules change."""

    def __init__(self, old: Bundle, new: Bundle, max_leaves: int = 300_000) -> None:
        self.old, self.new = old, new
        self.space = Space((old, new))
        self.programs = (Program(old, self.space), Program(new, self.space))
        self.leaves = explore(self.space, self.programs, _PairSettle(*self.programs), share=True,
                              max_leaves=max_leaves,
                              what=f"diff {old.key} → {new.key}: the versions differ in too many places to list")
        merged = compact(merge(self.leaves, self.space))
        order = {"loss": 0, "gain": 1, "rules": 2, "obligations": 3}
        self.regions: list[Region] = sorted(sort_regions(merged), key=lambda r: order[r.key.kind])
        self.rule_changes = rule_changes(old, new)

    def change_at(self, facts: Mapping[str, FactValue]) -> Change | None:
        found = self._locator.find(facts)
        return None if found is None else found.key

    @cached_property
    def _locator(self) -> Locator:
        return Locator(self.space, self.regions)

    def counts(self) -> dict[str, int]:
        found = {"loss": 0, "gain": 0, "rules": 0, "obligations": 0}
        for r in self.regions:
            found[r.key.kind] += 1
        return found

    def combinations(self, region: Region) -> int:
        """How many combinations of fact values (domain elements) a region covers."""
        return count(region.masks)


def _rule_words(r: Rule) -> dict[str, str]:
    return {
        "effect": r.effect,
        "actions": "any" if r.actions is None else ", ".join(sorted(r.actions)),
        "categories": "any" if r.categories is None else ", ".join(sorted(r.categories)),
        "condition": describe(r.condition),
        "obligations": ", ".join(r.obligations) or "none",
        "reason": r.reason.nl + " / " + r.reason.en,
        "basis": "; ".join(r.basis),
        "source": "; ".join(r.source),
    }


def rule_changes(old: Bundle, new: Bundle) -> list[RuleChange]:
    """Rules added, removed or changed between the versions (by id), with what changed."""
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    out: list[RuleChange] = []
    for rid, r in after.items():
        if rid not in before:
            out.append(RuleChange(rid, "added"))
            continue
        a, b = _rule_words(before[rid]), _rule_words(r)
        fields = [k for k in a if a[k] != b[k]]
        if not fields:
            continue
        semantic = {"effect", "actions", "categories", "condition", "obligations"}
        details = [f"{k}: {a[k]} → {b[k]}" for k in fields]
        out.append(RuleChange(rid, "changed" if semantic & set(fields) else "text", details))
    out.extend(RuleChange(rid, "removed") for rid in before if rid not in after)
    return out
