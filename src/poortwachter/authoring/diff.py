"""Exact semantic diff of two bundles, and shadow comparison of two compiled bundles on facts.

Both bundles are analysed over one space (the union of the facts they mention, the union of their
thresholds). A rule is *unchanged* when it has the same id, effect, actions, categories, condition
and obligations in both; it has the same truth value in both versions at every point, so it can
only matter where a changed rule applies. The split therefore stops — reporting nothing — as soon as
no changed rule can apply, and otherwise goes on until the *change* is settled:

* both versions deny by rules (or both allow): the change is which changed rules are named, and
  which obligations that brings or takes away (unchanged rules applying in both cancel out);
* the kind of verdict differs (allow ↔ deny ↔ default deny): the change names every deciding rule
  of both versions.

Regions with the same change are merged and explained in words. The result is exact — the
property tests check it against evaluating both bundles on random facts and requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.facts import FactValue
from ..core.policy.model import Bundle, Rule
from ..core.verdict import Verdict
from .explore import SKIP, Program, Region, State, explore, guarded, merge, settle_kind, sort_regions
from .literals import TRUE, Cond
from .space import _ACTION, _CATEGORY, Space

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
    oo = [o.id for o in old.obligations]
    on = [o.id for o in new.obligations]
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
        settle = guarded(_PairSettle(*self.programs), max_leaves,
                         f"diff {old.key} → {new.key}: the versions differ in too many places to list")
        self.leaves = explore(self.space, self.programs, settle)
        merged = compact(merge(self.leaves, self.space))
        order = {"loss": 0, "gain": 1, "rules": 2, "obligations": 3}
        self.regions: list[Region] = sorted(sort_regions(merged), key=lambda r: order[r.key.kind])
        self.rule_changes = rule_changes(old, new)

    def change_at(self, facts: Mapping[str, FactValue]) -> Change | None:
        point = self.space.locate(facts)
        for r in self.regions:
            if self.space.contains(r.masks, point):
                return r.key  # type: ignore[no-any-return]
        return None

    def counts(self) -> dict[str, int]:
        found = {"loss": 0, "gain": 0, "rules": 0, "obligations": 0}
        for r in self.regions:
            found[r.key.kind] += 1
        return found

    def combinations(self, region: Region) -> int:
        """How many combinations of fact values (domain elements) a region covers."""
        total = 1
        for m in region.masks:
            total *= m.bit_count()
        return total


def _rule_words(r: Rule) -> dict[str, str]:
    from ..core.policy.model import describe

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


# ---------------------------------------------------------------------------------------------
# shadow evaluation


# ---------------------------------------------------------------------------------------------
# compacting: exact hulls


def _count(masks: Sequence[int]) -> int:
    total = 1
    for m in masks:
        total *= m.bit_count()
    return total


def _inside(inner: Sequence[int], outer: Sequence[int]) -> bool:
    return all(i & ~o == 0 for i, o in zip(inner, outer))


def _meets(a: Sequence[int], b: Sequence[int]) -> bool:
    return all(x & y for x, y in zip(a, b))


def _hull(regions: Sequence[Region]) -> tuple[int, ...]:
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

        def exact(members: Sequence[Region], hull: tuple[int, ...], others: list[Region] = others) -> bool:
            return (not any(_meets(o.masks, hull) for o in others)
                    and sum(_count(m.masks) for m in members) == _count(hull))

        hull = _hull(group)
        if len(group) > 1 and exact(group, hull):
            out.append(Region(hull, key))
            continue
        current = list(group)
        merged = len(current) <= pairwise_limit
        while merged:
            merged = False
            for a in range(len(current)):
                for b in range(a + 1, len(current)):
                    h = _hull([current[a], current[b]])
                    inside = [r for r in current if _meets(r.masks, h)]
                    if all(_inside(r.masks, h) for r in inside) and exact(inside, h):
                        current = [r for r in current if not _meets(r.masks, h)] + [Region(h, key)]
                        merged = True
                        break
                if merged:
                    break
        out.extend(current)
    return out


# ---------------------------------------------------------------------------------------------
# words

RELATION_WORDS = {
    "self": "the young person", "ouder": "parents", "voogd": "guardians (voogd)",
    "pleegouder": "foster parents (pleegouder)", "jeugdbeschermer": "jeugdbeschermers",
    "partner_van_ouder": "a parent's new partner", "biologische_ouder": "biological parents",
    "nabestaande": "surviving relatives (nabestaanden)", "vertegenwoordiger": "representatives (vertegenwoordiger)",
    "derde": "third parties", "none": "persons without a stated relation",
}
TYPE_WORDS = {"person": "persons", "professional": "professionals", "organisation": "organisations"}
ACTION_WORDS = {
    "read": "inzage (read)", "copy": "afschrift (copy)", "write": "writing", "correct": "correction",
    "annotate": "adding an eigen verklaring (annotate)", "disclose": "disclosure", "destroy": "destruction",
    "read_log": "reading the access log",
}
_WHO = ("subject.type", "subject.relation", "subject.gezag", "client.age", _ACTION, _CATEGORY)


def _values(space: Space, fact: str, masks: Sequence[int]) -> list[str] | None:
    """The labels of a fact's constraint, None when unconstrained (or not in the space)."""
    if fact not in space.index:
        return None
    d = space.dim(fact)
    m = masks[space.index[fact]]
    return None if m == d.full else [d.label(i) for i in d.members(m)]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def who_words(space: Space, masks: Sequence[int]) -> str:
    types = _values(space, "subject.type", masks)
    relations = _values(space, "subject.relation", masks)
    gezag = _values(space, "subject.gezag", masks)
    if relations is not None:
        dim = space.dim("subject.relation")
        rest = dim.size - len(relations)
        if rest < len(relations) and rest <= 3:
            excluded = [dim.label(i) for i in range(dim.size) if not masks[space.index["subject.relation"]] >> i & 1]
            who = "everyone except " + _join([RELATION_WORDS.get(v, v) for v in excluded])
        else:
            who = _join([RELATION_WORDS.get(v, v) for v in relations])
    elif types is not None:
        who = _join([TYPE_WORDS.get(v, v) for v in types])
    else:
        who = "anyone"
    if types is not None and relations is not None and types != ["person"]:
        who += f" ({'/'.join(types)})"
    if gezag == ["true"]:
        who += " with gezag"
    elif gezag == ["false"]:
        who += " without gezag"
    age = _values(space, "client.age", masks)
    if age is not None:
        d = space.dim("client.age")
        text = d.constraint(masks[space.index["client.age"]])
        if relations == ["self"]:
            who += f" aged {text}"
        else:
            who += f" of a client aged {text}" if "+" in text or " or " in text else f" of a {text}-year-old"
    return who


def what_words(space: Space, masks: Sequence[int]) -> str:
    actions = _values(space, _ACTION, masks)
    acts = "any action" if actions is None else _join([ACTION_WORDS.get(a, a) for a in actions])
    cats = _values(space, _CATEGORY, masks)
    if cats is None:
        return acts
    d = space.dim(_CATEGORY)
    if len(cats) > d.size // 2:
        return f"{acts} of every category except {_join(_values_complement(space, _CATEGORY, masks))}"
    return f"{acts} of {_join(cats)}"


def _values_complement(space: Space, fact: str, masks: Sequence[int]) -> list[str]:
    d = space.dim(fact)
    m = masks[space.index[fact]]
    return [d.label(i) for i in range(d.size) if not m >> i & 1]


def change_words(c: Change) -> str:
    def rules(ids: Sequence[str]) -> str:
        return _join([f"`{r}`" for r in ids]) if ids else "no rule"

    kind_words = {"allow": "allowed", "deny": "refused", "default": "refused (no rule applies)"}
    if c.kind == "loss":
        text = f"lose it: allowed by {rules(c.removed)}, now {kind_words[c.new]}" + (
            f" by {rules(c.added)}" if c.added else "")
    elif c.kind == "gain":
        text = f"gain it: {kind_words[c.old]}" + (f" by {rules(c.removed)}" if c.removed else "") + \
            f", now allowed by {rules(c.added)}"
    elif c.old != c.new:
        text = f"still {'allowed' if c.new == 'allow' else 'refused'}, but {kind_words[c.old]}" + (
            f" by {rules(c.removed)}" if c.removed else "") + f" → {kind_words[c.new]}" + (
            f" by {rules(c.added)}" if c.added else "")
    else:
        parts = []
        if c.added:
            parts.append(f"now also by {rules(c.added)}")
        if c.removed:
            parts.append(f"no longer by {rules(c.removed)}")
        text = f"still {kind_words[c.new]}" + (": " + "; ".join(parts) if parts else "")
    if c.obligations_added:
        text += f"; new obligations: {', '.join(c.obligations_added)}"
    if c.obligations_removed:
        text += f"; obligations dropped: {', '.join(c.obligations_removed)}"
    return text


def region_sentence(space: Space, region: Region) -> str:
    """One region's change in words: who, what, the change, and the remaining conditions."""
    c: Change = region.key
    rest = space.describe(region.masks, skip=_WHO)
    sentence = f"{who_words(space, region.masks)} — {what_words(space, region.masks)}: {change_words(c)}"
    if rest:
        sentence += f" (when {'; '.join(rest)})"
    return sentence


# ---------------------------------------------------------------------------------------------
# rendering


def summary_line(diff: Diff) -> str:
    n = diff.counts()
    kinds = {k: sum(1 for c in diff.rule_changes if c.what == k) for k in ("added", "removed", "changed", "text")}
    return (f"{len(diff.regions)} regions change: {n['loss']} lose access, {n['gain']} gain access, "
            f"{n['rules']} change deciding rules, {n['obligations']} change obligations only. "
            f"Rules: {kinds['added']} added, {kinds['removed']} removed, {kinds['changed']} changed, "
            f"{kinds['text']} changed in text only.")


_HEADINGS = {"loss": "No longer allowed", "gain": "Newly allowed", "rules": "Same decision, other deciding rules",
             "obligations": "Same decision, other obligations"}


def groups(diff: Diff) -> list[tuple[Change, list[Region]]]:
    """Regions grouped by their exact change, losses first."""
    found: dict[Change, list[Region]] = {}
    for r in diff.regions:
        found.setdefault(r.key, []).append(r)
    return list(found.items())


def causes(diff: Diff) -> list[tuple[tuple[str, tuple[str, ...], tuple[str, ...]], list[tuple[Change, list[Region]]]]]:
    """Exact changes grouped by their cause: the kind of change and the *changed* rules involved
    (added, removed or modified between the versions), whatever unchanged rules also decide."""
    touched = {rc.id for rc in diff.rule_changes if rc.what != "text"}
    found: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[tuple[Change, list[Region]]]] = {}
    for change, regions in groups(diff):
        cause = (change.kind, tuple(r for r in change.removed if r in touched),
                 tuple(r for r in change.added if r in touched))
        found.setdefault(cause, []).append((change, regions))
    return list(found.items())


def cause_sentence(space: Space, cause: tuple[str, tuple[str, ...], tuple[str, ...]],
                   members: Sequence[tuple[Change, list[Region]]]) -> str:
    kind, removed, added = cause
    regions = [r for _, rs in members for r in rs]
    hull = _hull(regions)
    what = {"loss": "no longer allowed", "gain": "newly allowed", "rules": "same decision, other deciding rules",
            "obligations": "same decision, other obligations"}[kind]
    why = []
    if added:
        why.append("now decided (also) by " + _join([f"`{r}`" for r in added]))
    if removed:
        why.append("no longer by " + _join([f"`{r}`" for r in removed]))
    n = len(regions)
    rest = space.describe(hull, skip=_WHO)
    return (f"{who_words(space, hull)} — {what_words(space, hull)}"
            + (f", when {'; '.join(rest)}" if rest else "") + f": {what}"
            + (f", {'; '.join(why)}" if why else "") + f" ({n} region{'s' if n != 1 else ''})")


def group_sentence(space: Space, change: Change, regions: Sequence[Region]) -> str:
    hull = _hull(regions)
    within = "" if len(regions) == 1 else "within: "
    return f"{within}{who_words(space, hull)} — {what_words(space, hull)}: {change_words(change)}"


def render_text(diff: Diff, brief: bool = False) -> str:
    lines = [f"{diff.old.key} → {diff.new.key}", summary_line(diff)]
    for rc in diff.rule_changes:
        lines.append(f"  rule {rc.what}: {rc.id}" + "".join(f"\n      {d}" for d in rc.details))
    n = 0
    for cause, members in causes(diff):
        lines.append(f"* {cause_sentence(diff.space, cause, members)}")
        for change, regions in members:
            lines.append(f"  - {group_sentence(diff.space, change, regions)}")
            for r in regions:
                n += 1
                if not brief:
                    lines.append(f"    {n}. {' · '.join(diff.space.describe(r.masks)) or 'everywhere'}")
    return "\n".join(lines) + "\n"


def render_markdown(diff: Diff, title: str | None = None) -> str:
    lines = [f"# {title or f'Diff {diff.old.key} → {diff.new.key}'}", "",
             (f"Old: `{diff.old.key}` (in force from {diff.old.effective_from}). "
             f"New: `{diff.new.key}` (in force from {diff.new.effective_from})."), "",
             summary_line(diff), "",
             ("Exact: every combination of derived facts whose verdict, deciding rules or obligations differ lies in "
             "exactly one numbered region below, and no other combination does (computed by `poortwachter diff`, "
             "checked against the evaluator by property tests). Changes are grouped by cause (the changed rules "
             "involved), then by the exact change; \"within\" names the span of several regions, whose exact "
             "list is folded below each change."), ""]
    if diff.rule_changes:
        lines += ["## Rule changes", "", "| rule | change | details |", "|---|---|---|"]
        for rc in diff.rule_changes:
            lines.append(f"| `{rc.id}` | {rc.what} | {'<br>'.join(d.replace('|', '/') for d in rc.details) or '–'} |")
        lines.append("")
    current = None
    n = 0
    for cause, members in causes(diff):
        if cause[0] != current:
            current = cause[0]
            lines += [f"## {_HEADINGS[current]}", ""]
        lines += [f"### {cause_sentence(diff.space, cause, members)}", ""]
        for change, regions in members:
            lines.append(f"- {group_sentence(diff.space, change, regions)}")
            lines.append(f"  <details><summary>{len(regions)} exact region{'s' if len(regions) != 1 else ''}"
                         "</summary>\n")
            for r in regions:
                n += 1
                lines.append(f"  {n}. {' · '.join(diff.space.describe(r.masks)) or 'everywhere'}")
            lines += ["", "  </details>", ""]
    return "\n".join(lines) + "\n"


def diff_json(diff: Diff) -> dict[str, Any]:
    from .table_render import region_json

    return {
        "old": {"name": diff.old.name, "version": diff.old.version},
        "new": {"name": diff.new.name, "version": diff.new.version},
        "summary": {**diff.counts(), "regions": len(diff.regions)},
        "rule_changes": [{"rule": rc.id, "change": rc.what, "details": rc.details} for rc in diff.rule_changes],
        "regions": [{"where": region_json(diff.space, r.masks), "words": region_sentence(diff.space, r),
                     **r.key.as_json()} for r in diff.regions],
    }
