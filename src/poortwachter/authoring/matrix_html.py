"""The HTML of the decision matrix (matrix.py): the page with its style and script, and the parts
that explain a cell (the rules that decide it, with conditions, basis, source and reason texts)."""

from __future__ import annotations

import html
from typing import Any

from ..core.policy.model import Bundle, Rule
from .literals import cond_words
from .space import Space
from .table import Entry, Row


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


CSS = """
:root { --allow:#a5d6a7; --conditional:#ffe082; --deny:#ef9a9a; --default:#e0e0e0; --ink:#1b1b1b; }
* { box-sizing: border-box; }
body { font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 1.2em; }
h1 { font-size: 1.5em; margin: 0 0 .2em; } h2 { font-size: 1.2em; margin: 1.4em 0 .4em; }
p.meta { color: #444; margin: .2em 0 .8em; }
.legend span.seg { display: inline-block; width: 1.6em; text-align: center; margin-right: .3em; }
.legend li { list-style: none; margin: .15em 0; } .legend ul { padding: 0; }
table.m { border-collapse: collapse; margin: .4em 0 1em; }
table.m th, table.m td { border: 1px solid #999; padding: 2px 3px; vertical-align: bottom; }
table.m th.who { text-align: left; white-space: nowrap; max-width: 30em; overflow: hidden; text-overflow: ellipsis; }
table.m thead th { font-weight: 600; font-size: 11px; }
table.m thead th.cat { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; max-height: 14em; }
td.c { white-space: nowrap; padding: 1px; }
a.seg, span.seg { display: inline-block; width: 1.35em; height: 1.5em; line-height: 1.5em; text-align: center;
  font-size: 10px; font-weight: 700; color: var(--ink); text-decoration: none; border-right: 1px solid #fff; }
.al { background: var(--allow); } .co { background: var(--conditional); }
.de { background: var(--deny); } .df { background: var(--default); color: #555; }
a.seg.ch { outline: 2px solid #000; outline-offset: -2px; width: auto; min-width: 1.35em; }
a.seg.un { opacity: .35; }
a.seg:hover, a.seg:focus { outline: 2px solid #1565c0; outline-offset: -2px; }
.detail { border-top: 1px solid #ccc; padding: .4em 0; }
.detail:target, .rule:target { background: #fff8e1; }
.detail h3, .rule h3 { font-size: 1em; margin: .2em 0; }
.detail ul { margin: .2em 0 .2em 1.2em; padding: 0; }
.rule { border-top: 1px solid #ccc; padding: .4em 0; }
.rule .reason { margin: .2em 0 .2em 1em; }
code { font-size: 12px; background: #f4f4f4; padding: 0 2px; }
@media print {
  body { margin: 0; font-size: 9pt; }
  @page { size: A4 landscape; margin: 10mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section.action { break-before: page; }
  a.seg { border-right: 1px solid #fff; }
  .detail, .rule { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

SCRIPT = """
(function () {
  var cells = document.querySelectorAll('a.seg');
  document.body.dataset.cells = String(cells.length);
  document.querySelectorAll('td.c').forEach(function (td) {
    var who = td.parentNode.querySelector('th.who').textContent;
    var col = td.closest('table').querySelectorAll('thead th')[td.cellIndex].getAttribute('title');
    td.title = who + ' / ' + col;
  });
  console.log('matrix-ready ' + cells.length + ' segments');
})();
"""


def rule_link(rule: Rule) -> str:
    return f'<a href="#r-{esc(rule.id)}"><code>{esc(rule.id)}</code></a>'


def entry_html(space: Space, e: Entry) -> str:
    cond = "" if e.always else f" if {esc(cond_words(space, e.cond))}"
    obl = f" — obligations: {esc(', '.join(e.rule.obligations))}" if e.rule.obligations else ""
    return f"<li>{rule_link(e.rule)}{cond}{obl}</li>"


def row_html(space: Space, row: Row | None) -> str:
    if row is None or (not row.refusals and not row.permissions):
        return "<p>No rule applies here: denied by default.</p>"
    parts = [(f"<p><b>{esc(row.summary)}</b>: deny if a refusal below holds; otherwise allow if a permission "
             "holds; otherwise deny by default.</p>")]
    if row.refusals:
        parts.append("<p>Refused when:</p><ul>" + "".join(entry_html(space, e) for e in row.refusals) + "</ul>")
    if row.permissions:
        parts.append("<p>Allowed when:</p><ul>" + "".join(entry_html(space, e) for e in row.permissions) + "</ul>")
    return "".join(parts)


def rules_html(bundle: Bundle, used: set[str], prefix: str = "") -> str:
    out = []
    for r in bundle.rules:
        if r.id not in used:
            continue
        out.append(
            f'<div class="rule" id="r-{esc(prefix + r.id)}"><h3><code>{esc(r.id)}</code> — {esc(r.effect)}</h3>'
            f"<div>legal basis: {esc('; '.join(r.basis))}</div>"
            f"<div>source: {esc('; '.join(r.source))}</div>"
            f'<div class="reason" lang="nl">{esc(r.reason.nl)}</div>'
            f'<div class="reason" lang="en">{esc(r.reason.en)}</div></div>')
    return "".join(out)


def page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}<script>{SCRIPT}</script></body></html>\n")
