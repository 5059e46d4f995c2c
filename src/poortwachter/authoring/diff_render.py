"""A diff in words: text, Markdown and JSON, grouped by cause (the changed rules involved)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .diff import Change, Diff
from .hulls import hull
from .programs import Region
from .space import Space
from .table_render import region_json
from .words import WHO, join_words, what_words, who_words


def change_words(c: Change) -> str:
    def rules(ids: Sequence[str]) -> str:
        return join_words([f"`{r}`" for r in ids]) if ids else "no rule"

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
    rest = space.describe(region.masks, skip=WHO)
    sentence = f"{who_words(space, region.masks)} — {what_words(space, region.masks)}: {change_words(c)}"
    if rest:
        sentence += f" (when {'; '.join(rest)})"
    return sentence


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
    box = hull(regions)
    what = _HEADINGS[kind].lower()
    why = []
    if added:
        why.append("now decided (also) by " + join_words([f"`{r}`" for r in added]))
    if removed:
        why.append("no longer by " + join_words([f"`{r}`" for r in removed]))
    n = len(regions)
    rest = space.describe(box, skip=WHO)
    return (f"{who_words(space, box)} — {what_words(space, box)}"
            + (f", when {'; '.join(rest)}" if rest else "") + f": {what}"
            + (f", {'; '.join(why)}" if why else "") + f" ({n} region{'s' if n != 1 else ''})")


def group_sentence(space: Space, change: Change, regions: Sequence[Region]) -> str:
    box = hull(regions)
    within = "" if len(regions) == 1 else "within: "
    return f"{within}{who_words(space, box)} — {what_words(space, box)}: {change_words(change)}"


def render_text(diff: Diff, full: bool = False) -> str:
    """The changes in words, grouped by cause; ``full`` also numbers every exact region (megabytes for a real
    bundle: 2,800 lines for nl-jgz 2020 → 2026, where the summary is 55)."""
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
                if full:
                    lines.append(f"    {n}. {' · '.join(diff.space.describe(r.masks)) or 'everywhere'}")
    return "\n".join(lines) + "\n"


def render_markdown(diff: Diff, title: str | None = None, full: bool = True) -> str:
    """The diff as a review document; ``full`` folds each change's exact regions under it."""
    lines = [f"# {title or f'Diff {diff.old.key} → {diff.new.key}'}", "",
             (f"Old: `{diff.old.key}` (in force from {diff.old.effective_from}). "
             f"New: `{diff.new.key}` (in force from {diff.new.effective_from})."), "",
             summary_line(diff), "",
             ("Exact: every combination of derived facts whose verdict, deciding rules or obligations differ lies in "
             "exactly one region, and no other combination does (computed by `poortwachter diff`, "
             "checked against the evaluator by property tests). Changes are grouped by cause (the changed rules "
             "involved), then by the exact change; \"within\" names the span of several regions"
             + (", whose exact list is folded below each change." if full else
                "; `poortwachter diff --full` lists them.")), ""]
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
            if not full:
                continue
            lines.append(f"  <details><summary>{len(regions)} exact region{'s' if len(regions) != 1 else ''}"
                         "</summary>\n")
            for r in regions:
                n += 1
                lines.append(f"  {n}. {' · '.join(diff.space.describe(r.masks)) or 'everywhere'}")
            lines += ["", "  </details>", ""]
        if not full:
            lines.append("")
    return "\n".join(lines) + "\n"


def diff_json(diff: Diff) -> dict[str, Any]:
    return {
        "old": {"name": diff.old.name, "version": diff.old.version},
        "new": {"name": diff.new.name, "version": diff.new.version},
        "summary": {**diff.counts(), "regions": len(diff.regions)},
        "rule_changes": [{"rule": rc.id, "change": rc.what, "details": rc.details} for rc in diff.rule_changes],
        "regions": [{"where": region_json(diff.space, r.masks), "words": region_sentence(diff.space, r),
                     **r.key.as_json()} for r in diff.regions],
    }
