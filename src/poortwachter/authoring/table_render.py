"""Decision tables as Markdown, CSV and JSON (see :mod:`.table`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from .constraints import _ACTION
from .literals import cond_json, cond_words
from .programs import Outcome
from .space import Dim, Space
from .table import Entry, FlatTable, Table


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
