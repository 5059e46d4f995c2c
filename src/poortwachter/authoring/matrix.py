"""The decision matrix: one self-contained HTML page per bundle (or per diff of two versions).

Who (subject type, relation, gezag) may do what (one table per action) with which category, by age
band, colour-coded; every cell links to the rules that decide it there, with their conditions, legal
basis, source and reason texts. Built from the exact analysis (:class:`.table.Table` rows), so a
cell is *allowed* only if an allow rule applies there without further conditions and no deny rule
always applies; *conditional* cells name the conditions. Readable on paper: the print style
keeps colours, adds a letter to every segment and starts each action on a new page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.policy.model import Bundle
from .diff import Diff
from .diff_render import group_sentence, groups
from .hulls import count
from .matrix_html import esc, page, row_html, rules_html
from .space import Dim, Space
from .table import Row, Table
from .words import ACTION_WORDS, RELATION_WORDS, TYPE_WORDS

LETTERS = {"allow": "J", "conditional": "V", "deny": "N", "default": "–"}
WORDS = {"allow": "allowed", "conditional": "allowed only under conditions", "deny": "refused by a rule",
         "default": "no rule allows (default deny)"}
CLASS = {"allow": "al", "conditional": "co", "deny": "de", "default": "df"}
WHO = ("subject.type", "subject.relation", "subject.gezag")


def _atoms(dim: Dim, masks: Sequence[int]) -> list[int]:
    """The coarsest partition of a fact's domain that every mask is a union of."""
    parts = [dim.full]
    for m in set(masks):
        nxt = []
        for p in parts:
            for q in (p & m, p & ~m & dim.full):
                if q:
                    nxt.append(q)
        parts = nxt
    return sorted(parts, key=lambda p: (p & -p).bit_length())


@dataclass(frozen=True)
class WhoRow:
    masks: dict[str, int]  # fact → mask (atom)
    label: str


class Grid:
    """Cells of one bundle (or two, for a diff) over shared who/action/category/age atoms."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self.tables = tables
        self.space: Space = tables[0].space
        sp = self.space
        self.facts = [f for f in ("action.name", "resource.category", *WHO, "client.age") if f in sp.index]
        self.atoms: dict[str, list[int]] = {}
        for f in self.facts:
            i = sp.index[f]
            self.atoms[f] = _atoms(sp.dims[i], [c.masks[i] for t in tables for c in t.cells])
        # actions, categories and subject types one by one; age in the bundle's declared bands
        for f in ("action.name", "resource.category", "subject.type", "client.age"):
            if f in sp.index:
                self.atoms[f] = [1 << i for i in range(sp.dim(f).size)]
        if "action.name" in sp.index:
            dim = sp.dim("action.name")
            self.atoms["action.name"] = [1 << i for i in range(dim.size)]
        if "resource.category" in sp.index:
            dim = sp.dim("resource.category")
            self.atoms["resource.category"] = [1 << i for i in range(dim.size)]
        self.rows = self._who_rows()
        self.index = [self._index(t) for t in tables]

    def _index(self, table: Table) -> dict[tuple[int, int], list[Row]]:
        sp = self.space
        a = sp.index["action.name"]
        c = sp.index.get("resource.category")
        out: dict[tuple[int, int], list[Row]] = {}
        for row in table.rows:
            for ai in sp.dims[a].members(row.masks[a]):
                cats = sp.dims[c].members(row.masks[c]) if c is not None else [0]
                for ci in cats:
                    out.setdefault((ai, ci), []).append(row)
        return out

    def _who_rows(self) -> list[WhoRow]:
        sp = self.space
        present = [f for f in WHO if f in sp.index]
        combos: list[dict[str, int]] = [{}]
        for f in present:
            combos = [{**c, f: m} for c in combos for m in self.atoms[f]]
        rows = []
        youth = sp.bundles[0].vocabulary.youth_care
        for combo in combos:
            if youth and "subject.type" in combo:
                types = self._labels("subject.type", combo["subject.type"])
                plain = "person" not in types
                if plain and "subject.relation" in combo and "none" not in self._labels("subject.relation",
                                                                                        combo["subject.relation"]):
                    continue
                if plain and "subject.gezag" in combo and "false" not in self._labels("subject.gezag",
                                                                                      combo["subject.gezag"]):
                    continue
            rows.append(WhoRow(combo, self._who_label(combo)))
        return rows

    def _labels(self, fact: str, mask: int) -> list[str]:
        d = self.space.dim(fact)
        return [d.label(i) for i in d.members(mask)]

    def _who_label(self, combo: dict[str, int]) -> str:
        parts = []
        types = self._labels("subject.type", combo["subject.type"]) if "subject.type" in combo else []
        rel = self._labels("subject.relation", combo["subject.relation"]) if "subject.relation" in combo else []
        if rel and "person" in types:
            shown = [RELATION_WORDS.get(r, r) if len(rel) == 1 else r for r in rel]
            parts.append(", ".join(shown) if len(rel) <= 4 else f"{', '.join(rel[:3])} and {len(rel) - 3} more")
        elif types:
            parts.append(", ".join(TYPE_WORDS.get(t, t) for t in types))
        if "subject.gezag" in combo and rel and "person" in types:
            gez = self._labels("subject.gezag", combo["subject.gezag"])
            if gez == ["true"]:
                parts.append("with gezag")
            elif gez == ["false"]:
                parts.append("without gezag")
        if types and rel and "person" in types and len(types) > 1:
            parts.append(f"({'/'.join(types)})")
        return " ".join(parts) or "anyone"

    def cell(self, which: int, who: WhoRow, action: int, category: int, age: int) -> Row | None:
        sp = self.space
        point = {**who.masks, "action.name": action, "resource.category": category, "client.age": age}
        for row in self.index[which].get(((action & -action).bit_length() - 1,
                                          (category & -category).bit_length() - 1 if category else 0), []):
            if all(row.masks[sp.index[f]] & m for f, m in point.items() if f in sp.index):
                return row
        return None


def _colour(row: Row | None) -> str:
    return "default" if row is None else row.colour


def _legend(grid: Grid) -> str:
    items = "".join(f'<li><span class="seg {CLASS[k]}">{LETTERS[k]}</span>{esc(WORDS[k])}</li>' for k in LETTERS)
    ages = ""
    if "client.age" in grid.atoms:
        dim = grid.space.dim("client.age")
        ages = ("<p>Each cell has one segment per age band of the client, left to right: "
                + ", ".join(esc(dim.constraint(m)) for m in grid.atoms["client.age"]) + ".</p>")
    return f'<div class="legend"><ul>{items}</ul>{ages}</div>'


def _merge_rows(grid: Grid, rows: list[WhoRow], content: dict[int, dict[int, list[str]]]) -> list[tuple[str, int]]:
    """Who rows with identical segments in every table become one row: (label, index of the first)."""
    sigs: dict[tuple[str, ...], list[int]] = {}
    for n in range(len(rows)):
        sig = tuple(content[a][c][n] for a in content for c in content[a])
        sigs.setdefault(sig, []).append(n)
    merged = []
    for members in sigs.values():
        combo: dict[str, int] = {}
        for n in members:
            for f, m in rows[n].masks.items():
                combo[f] = combo.get(f, 0) | m
        label = grid._who_label(combo) if _box_exact(rows, members, combo) else _list_label(grid, rows, members)
        merged.append((label, members[0]))
    return sorted(merged, key=lambda x: x[1])


def _list_label(grid: Grid, rows: list[WhoRow], members: list[int]) -> str:
    """Labels of several who rows; rows that differ only in gezag (covering both) as one."""
    by_rest: dict[tuple[tuple[str, int], ...], int] = {}
    for n in members:
        rest = tuple(sorted((f, m) for f, m in rows[n].masks.items() if f != "subject.gezag"))
        by_rest[rest] = by_rest.get(rest, 0) | rows[n].masks.get("subject.gezag", 0)
    labels = []
    for rest, gezag in by_rest.items():
        combo = dict(rest)
        if "subject.gezag" in grid.space.index:
            combo["subject.gezag"] = gezag
        labels.append(grid._who_label(combo))
    return " / ".join(labels)


def _box_exact(rows: list[WhoRow], members: list[int], combo: dict[str, int]) -> bool:
    """The members are exactly the product of their masks (so one label describes them)."""
    return count(list(combo.values())) == sum(count(list(rows[n].masks.values())) for n in members)


def _sections(grid: Grid, segment: Any) -> tuple[str, list[str]]:
    """One table per action: rows who (identical rows merged), columns categories (identical merged)."""
    sp = grid.space
    ages = grid.atoms.get("client.age", [0])
    cats = grid.atoms.get("resource.category", [0])
    content: dict[int, dict[int, list[str]]] = {}
    for action in grid.atoms["action.name"]:
        content[action] = {cat: ["".join(segment(who, action, cat, age) for age in ages) for who in grid.rows]
                           for cat in cats}
    rows = _merge_rows(grid, grid.rows, content)
    out = []
    for action in grid.atoms["action.name"]:
        aname = sp.dim("action.name").label((action & -action).bit_length() - 1)
        columns: dict[tuple[str, ...], list[int]] = {}
        for cat in cats:
            columns.setdefault(tuple(content[action][cat][n] for _, n in rows), []).append(cat)
        head = "".join(
            f'<th class="cat" title="{esc(", ".join(_cat_label(sp, c) for c in group))}">'
            f'{esc(_cat_group_label(sp, group))}</th>' for group in columns.values())
        body = []
        for label, n in rows:
            tds = "".join(f'<td class="c">{content[action][group[0]][n]}</td>' for group in columns.values())
            body.append(f'<tr><th class="who" title="{esc(label)}">{esc(label)}</th>{tds}</tr>')
        words = ACTION_WORDS.get(aname, aname)
        out.append(f'<section class="action" id="a-{esc(aname)}"><h2>{esc(aname)} — {esc(words)}</h2>'
                   f'<table class="m"><thead><tr><th class="who">who \\ category</th>{head}</tr></thead>'
                   f'<tbody>{"".join(body)}</tbody></table></section>')
    return "".join(out), []


def _cat_label(space: Space, mask: int) -> str:
    if "resource.category" not in space.index:
        return "any"
    return space.dim("resource.category").label((mask & -mask).bit_length() - 1)


def _cat_group_label(space: Space, group: list[int]) -> str:
    names = [_cat_label(space, c) for c in group]
    return names[0] if len(names) == 1 else (
        ", ".join(names) if len(names) <= 3 else f"{names[0]} … (+{len(names) - 1})")


def render_matrix(bundle: Bundle, table: Table | None = None) -> str:
    table = table or Table(bundle)
    grid = Grid([table])
    sp = grid.space
    details: dict[Any, tuple[str, Row | None]] = {}
    used: set[str] = set()
    ages = grid.atoms.get("client.age", [0])

    def segment(who: WhoRow, action: int, cat: int, age: int) -> str:
        row = grid.cell(0, who, action, cat, age)
        key = None if row is None else (row.refusals, row.permissions)
        if key not in details:
            details[key] = (f"k{len(details) + 1}", row)
            if row is not None:
                used.update(e.rule.id for e in (*row.refusals, *row.permissions))
        anchor, _ = details[key]
        colour = _colour(row)
        return f'<a class="seg {CLASS[colour]}" href="#{anchor}">{LETTERS[colour]}</a>'

    sections, _ = _sections(grid, segment)
    detail_html = "".join(
        f'<div class="detail" id="{anchor}"><h3>{anchor}</h3>{row_html(sp, row)}</div>'
        for anchor, row in details.values())
    body = (f"<h1>Decision matrix: {esc(bundle.key)}</h1>"
            f"<p class=\"meta\">{esc(bundle.description)} In force from {bundle.effective_from}. "
            f"Generated by <code>poortwachter matrix</code> from the exact decision table "
            f"({len(table.rows)} rows); {len(ages)} age bands.</p>{_legend(grid)}{sections}"
            f"<h2>Cell details</h2>{detail_html}<h2>Rules</h2>{rules_html(bundle, used)}")
    return page(f"Decision matrix {bundle.key}", body)


def render_diff_matrix(old: Bundle, new: Bundle, diff: Diff | None = None) -> str:
    diff = diff or Diff(old, new)
    space = diff.space
    grid = Grid([Table(old, space=space), Table(new, space=space)])
    sp = grid.space
    details: dict[Any, str] = {}
    detail_html: list[str] = []
    used_old: set[str] = set()
    used_new: set[str] = set()
    change_groups = groups(diff)

    def box(who: WhoRow, action: int, cat: int, age: int) -> list[int]:
        masks = list(sp.full)
        for f, m in {**who.masks, "action.name": action, "resource.category": cat, "client.age": age}.items():
            if f in sp.index:
                masks[sp.index[f]] = m
        return masks

    def segment(who: WhoRow, action: int, cat: int, age: int) -> str:
        ro, rn = grid.cell(0, who, action, cat, age), grid.cell(1, who, action, cat, age)
        b = box(who, action, cat, age)
        hits = [(c, [r for r in regions if all(x & y for x, y in zip(r.masks, b))]) for c, regions in change_groups]
        hits = [(c, rs) for c, rs in hits if rs]
        co, cn = _colour(ro), _colour(rn)
        key = (None if ro is None else (ro.refusals, ro.permissions),
               None if rn is None else (rn.refusals, rn.permissions), tuple(c for c, _ in hits))
        if key not in details:
            anchor = f"k{len(details) + 1}"
            details[key] = anchor
            for row, used in ((ro, used_old), (rn, used_new)):
                if row is not None:
                    used.update(e.rule.id for e in (*row.refusals, *row.permissions))
            changes = "".join(f"<li>{esc(group_sentence(sp, c, rs))}</li>" for c, rs in hits)
            detail_html.append(
                f'<div class="detail" id="{anchor}"><h3>{anchor}'
                f'{" — changed" if hits else " — unchanged"}</h3>'
                + (f"<p>What changes here (exact regions in the diff):</p><ul>{changes}</ul>" if hits else "")
                + f"<p><b>Old ({esc(old.key)})</b></p>{row_html(sp, ro)}"
                + f"<p><b>New ({esc(new.key)})</b></p>{row_html(sp, rn)}</div>")
        anchor = details[key]
        mark = "ch" if hits else "un"
        letter = LETTERS[cn] if co == cn else f"{LETTERS[co]}{LETTERS[cn]}"
        return f'<a class="seg {CLASS[cn]} {mark}" href="#{anchor}">{esc(letter)}</a>'

    sections, _ = _sections(grid, segment)
    body = (f"<h1>Decision matrix diff: {esc(old.key)} → {esc(new.key)}</h1>"
            f"<p class=\"meta\">Segments show the new verdict; changed ones are outlined (two letters: old, new), "
            f"unchanged ones faded. {len(diff.regions)} regions change in total (see the cell details and "
            f"<code>poortwachter diff</code>).</p>{_legend(grid)}{sections}"
            f"<h2>Cell details</h2>{''.join(detail_html)}"
            f"<h2>Rules</h2>{rules_html(new, used_new)}"
            f"{rules_html(old, used_old - {r.id for r in new.rules})}")
    return page(f"Decision matrix diff {old.key} → {new.key}", body)
