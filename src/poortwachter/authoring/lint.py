"""Lint a bundle: gaps, overlaps, dead rules, untested rules, weak sources, unusual thresholds.

The semantic checks use the exact analysis of :mod:`.table` (no sampling):

* ``never-applies`` (error): no combination of facts a request can produce makes the rule apply;
* ``never-decides`` (error): an allow rule that applies somewhere, but everywhere it applies a deny
  rule applies too (it is shadowed: it can never be the reason of an answer);
* ``overlap`` (info): an allow rule and a deny rule that both apply somewhere (the deny wins there);
* ``gap-age`` (warning): for some who/what, allow rules apply at some ages, while at other ages no
  allow rule can apply and no deny rule always does (so some requests fall to the silent default
  deny): a gap the author may not intend;
* ``silent`` (info): who/what/age rows where no allow rule can apply and no deny rule always
  applies (some requests there are denied by default, with no rule as reason);

and the bookkeeping checks:

* ``no-scenario`` (warning): no scenario made the rule decide (see authoring.scenarios);
* ``source-format`` (warning): a source that is not a citation ``<document id>[ <place>, …]`` such
  as ``toolkit-jgz-2026 §6.7.2`` (docs/sources.md);
* ``source-unknown`` (error): a document id the sources registry does not list, or (given a folder of
  the documents' texts) a cited place the document's text does not have;
* ``source-unchecked`` (warning): no sources registry was found, so no id was checked;
* ``source-texts-unchecked`` / ``source-text-missing`` (warning): no folder of texts was given, or it
  lacks a cited document's text, so the places were not checked against it;
* ``basis-placeholder`` (error): a legal basis such as TODO or ``?``;
* ``reason-untranslated`` (warning): the Dutch and English reason texts are the same;
* ``threshold-missing`` / ``threshold-extra`` (warning): age thresholds that differ from the law's
  12, 16 and 18.

Severities are configurable (``severity: {code: error|warning|info|off}`` in the bundle folder's
``lint.yaml``, or ``--severity code=level``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.policy.manifest import LAW_AGE_THRESHOLDS
from ..core.policy.model import Bundle, Rule, leaves
from .explore import explore
from .literals import FALSE, TRUE, Cond
from .programs import SKIP, Program, State
from .sources import Registry, find_registry, load_registry, missing_places, parse_citation, text_of
from .space import Space
from .table import Table
from .words import what_words, who_words

LEVELS = ("error", "warning", "info", "off")
DEFAULT_SEVERITY: dict[str, str] = {
    "never-applies": "error",
    "never-decides": "error",
    "overlap": "info",
    "gap-age": "warning",
    "silent": "info",
    "no-scenario": "warning",
    "source-format": "warning",
    "source-unknown": "error",
    "source-unchecked": "warning",
    "source-texts-unchecked": "warning",
    "source-text-missing": "warning",
    "basis-placeholder": "error",
    "reason-untranslated": "warning",
    "threshold-missing": "warning",
    "threshold-extra": "warning",
}
PLACEHOLDER = re.compile(r"^\s*(todo|tbd|fixme|xxx|\?+|-+|n/?a)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    message: str
    rule: str | None = None
    where: str | None = None

    def __str__(self) -> str:
        at = f"{self.where}: " if self.where else ""
        rule = f"[rule {self.rule}] " if self.rule else ""
        return f"{at}{rule}{self.severity} {self.code}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "rule": self.rule,
                "where": self.where}


def _where(rule: Rule) -> str:
    return str(rule.span)


# ---------------------------------------------------------------------------------------------
# semantic checks


def _first(space: Space, program: Program, settle: Any) -> bool:
    return bool(explore(space, [program], settle, limit=1))


def _applies_somewhere(space: Space, bundle: Bundle, rule: Rule) -> bool:
    only = Program(bundle, space, keep=lambda r: r.id == rule.id)

    def settle(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        pairs = [*states[0].denies, *states[0].allows]
        if not pairs:
            return SKIP, []
        c = pairs[0][1]
        return (True, []) if c is TRUE else (None, [c])

    return _first(space, only, settle)


def _decides_somewhere(space: Space, bundle: Bundle, rule: Rule) -> bool:
    """An allow rule applies with no deny rule applying, somewhere."""
    program = Program(bundle, space, keep=lambda r: r.id == rule.id or r.effect == "deny")
    index = next(i for i, r, _ in program.items if r.id == rule.id)

    def settle(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        st = states[0]
        mine = next((c for i, c in st.allows if i == index), FALSE)
        if mine is FALSE or any(c is TRUE for _, c in st.denies):
            return SKIP, []
        rel = ([] if mine is TRUE else [mine]) + [c for _, c in st.denies]
        return (None, rel) if rel else (True, [])

    return _first(space, program, settle)


def _overlap(space: Space, bundle: Bundle, allow: Rule, deny: Rule) -> bool:
    program = Program(bundle, space, keep=lambda r: r.id in (allow.id, deny.id))

    def settle(states: Sequence[State]) -> tuple[Any, list[Cond]]:
        st = states[0]
        if not st.denies or not st.allows:
            return SKIP, []
        conds = [st.denies[0][1], st.allows[0][1]]
        rel = [c for c in conds if c is not TRUE]
        return (None, rel) if rel else (True, [])

    return _first(space, program, settle)


def _could_meet(a: Rule, b: Rule) -> bool:
    if a.actions is not None and b.actions is not None and not a.actions & b.actions:
        return False
    return a.categories is None or b.categories is None or bool(a.categories & b.categories)


def semantic_findings(bundle: Bundle, table: Table | None = None) -> list[Finding]:
    table = table or Table(bundle)
    space = table.space
    found: list[Finding] = []
    dead: set[str] = set()
    for rule in bundle.rules:
        if not _applies_somewhere(space, bundle, rule):
            dead.add(rule.id)
            found.append(Finding("never-applies", "error", "no combination of facts a request can produce makes "
                                 "this rule apply (its conditions contradict each other or its actions/categories)",
                                 rule.id, _where(rule)))
    denies = [r for r in bundle.rules if r.effect == "deny" and r.id not in dead]
    for rule in bundle.rules:
        if rule.effect != "allow" or rule.id in dead:
            continue
        over = [d.id for d in denies if _could_meet(rule, d) and _overlap(space, bundle, rule, d)]
        if over and not _decides_somewhere(space, bundle, rule):
            found.append(Finding("never-decides", "error", "wherever this allow rule applies, a deny rule applies "
                                 f"too, so it can never decide (shadowed by {', '.join(over)})",
                                 rule.id, _where(rule)))
        elif over:
            found.append(Finding("overlap", "info", f"deny rules {', '.join(over)} override this allow rule where "
                                 "both apply", rule.id, _where(rule)))
    found.extend(_gaps(bundle, table))
    return found


def _gaps(bundle: Bundle, table: Table) -> list[Finding]:
    space = table.space
    found: list[Finding] = []
    for row in table.rows:
        if not row.permissions and not any(e.always for e in row.refusals):
            found.append(Finding("silent", "info", f"no rule decides: {who_words(space, row.masks)} — "
                                 f"{what_words(space, row.masks)} (default deny)"))
    if "client.age" not in space.index:
        return found
    age = space.index["client.age"]
    siblings: dict[tuple[int, ...], list[tuple[int, bool, bool]]] = {}
    for cell in table.cells:
        denies, allows = cell.key
        rest = cell.masks[:age] + cell.masks[age + 1:]
        quiet = not allows and not any(c is TRUE for _, c in denies)  # some combination: no rule at all
        siblings.setdefault(rest, []).append((cell.masks[age], bool(allows), quiet))
    dim = space.dim("client.age")
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for rest, bands in siblings.items():
        allowed = [m for m, ok, _ in bands if ok]
        silent = [m for m, _, quiet in bands if quiet]
        if not allowed or not silent:
            continue
        masks = rest[:age] + (dim.full,) + rest[age:]
        a = q = 0
        for m in allowed:
            a |= m
        for m in silent:
            q |= m
        key = (who_words(space, masks), dim.constraint(a), dim.constraint(q))
        grouped.setdefault(key, []).append(what_words(space, masks))
    for (who, allowed_ages, silent_ages), whats in grouped.items():
        found.append(Finding(
            "gap-age", "warning",
            f"{who}: allow rules apply (at least under conditions) at ages {allowed_ages}, but at ages "
            f"{silent_ages} no allow rule can apply and no deny rule always does (silent default deny) — for "
            + "; ".join(whats)))
    return found


# ---------------------------------------------------------------------------------------------
# bookkeeping checks


def _source_findings(rule: Rule, registry: Registry | None, texts: Path | None,
                     cache: dict[Path, str]) -> list[Finding]:
    found: list[Finding] = []
    where = _where(rule)
    for source in rule.source:
        citation = parse_citation(source)
        if citation is None:
            found.append(Finding("source-format", "warning", f"source {source!r} is not a citation "
                                 "'<document id> <place>, …', e.g. 'toolkit-jgz-2026 §6.7.2' (docs/sources.md)",
                                 rule.id, where))
            continue
        if registry is None:
            continue
        document = registry.documents.get(citation.id)
        if document is None:
            found.append(Finding("source-unknown", "error", f"source {source!r}: no document {citation.id!r} in "
                                 f"the sources registry {registry.path} (expected one of "
                                 f"{', '.join(sorted(registry.documents))})", rule.id, where))
            continue
        if texts is None:
            continue
        got = text_of(document, texts, cache)
        if got is None:
            continue  # reported once per document by text_findings
        missing = missing_places(citation, got[1])
        if missing:
            found.append(Finding("source-unknown", "error", f"source {source!r}: {', '.join(missing)} not found in "
                                 f"the text of {citation.id} ({got[0]})", rule.id, where))
    return found


def text_findings(bundle: Bundle, texts: Path | None = None, registry: Registry | None = None) -> list[Finding]:
    """Legal bases, citations (against ``registry`` and, given a folder of texts, the texts) and translations."""
    found: list[Finding] = []
    cache: dict[Path, str] = {}
    for rule in bundle.rules:
        where = _where(rule)
        for basis in rule.basis:
            if PLACEHOLDER.match(basis):
                found.append(Finding("basis-placeholder", "error", f"legal basis {basis!r} is a placeholder",
                                     rule.id, where))
        found.extend(_source_findings(rule, registry, texts, cache))
        if " ".join(rule.reason.nl.split()) == " ".join(rule.reason.en.split()):
            found.append(Finding("reason-untranslated", "warning", "the Dutch and English reason texts are the same",
                                 rule.id, where))
    if registry is None:
        found.append(Finding("source-unchecked", "warning", "no sources registry (a sources.md beside the bundle "
                             "or a docs/sources.md above it): the document ids of the citations were not checked"))
        return found
    if texts is None:
        found.append(Finding("source-texts-unchecked", "warning", "no folder of source texts given (--texts DIR): "
                             "the cited sections were checked against the registry only, not against the texts"))
        return found
    cited = sorted({c.id for r in bundle.rules for c in map(parse_citation, r.source)
                    if c is not None and c.id in registry.documents})
    for doc_id in cited:
        if text_of(registry.documents[doc_id], texts, cache) is None:
            found.append(Finding("source-text-missing", "warning", f"no text of {doc_id} in {texts} (as "
                                 f"{doc_id}.txt or by its sha256 in {registry.path}): its places were not checked"))
    return found


def bundle_registry(bundle: Bundle) -> Registry | None:
    """The registry for ``bundle``, found from where its rule files are (see sources.find_registry)."""
    for rule in bundle.rules:
        if rule.span.file:
            path = find_registry(Path(rule.span.file).parent)
            return load_registry(path) if path is not None else None
    return None


def threshold_findings(bundle: Bundle) -> list[Finding]:
    if not bundle.vocabulary.youth_care:
        return []
    ages = bundle.thresholds.get("client.age", ())
    users: dict[int, list[str]] = {}
    for rule in bundle.rules:
        for leaf in leaves(rule.condition):
            if leaf.fact == "client.age":
                users.setdefault(int(leaf.value), []).append(rule.id)  # type: ignore[arg-type]
    if not users:
        return []
    found = []
    missing = [t for t in LAW_AGE_THRESHOLDS if t not in ages]
    if missing:
        found.append(Finding("threshold-missing", "warning", f"age_thresholds {list(ages)} lack the law's "
                             f"{', '.join(map(str, missing))} (WGBO/Jeugdwet: 12, 16, 18)"))
    for t in ages:
        if t not in LAW_AGE_THRESHOLDS:
            who = users.get(t, [])
            found.append(Finding("threshold-extra", "warning", f"age threshold {t} is not one of the law's 12, 16, 18"
                                 + (f"; used by {', '.join(who)}" if who else "; no rule uses it")))
    return found


def scenario_findings(bundle: Bundle, covered: Iterable[str]) -> list[Finding]:
    done = set(covered)
    return [Finding("no-scenario", "warning", "no scenario makes this rule decide (add one citing its source)",
                    r.id, _where(r)) for r in bundle.rules if r.id not in done]


# ---------------------------------------------------------------------------------------------
# all together


def lint(bundle: Bundle, covered: Iterable[str] | None = None, texts: Path | None = None,
         severity: Mapping[str, str] | None = None, table: Table | None = None,
         registry: Registry | None = None) -> list[Finding]:
    """Every finding, with severities after ``severity`` overrides (``off`` drops a code). ``texts``: a
    folder of the cited documents' texts (None or no such folder: not checked, and said so); ``registry``:
    the sources registry (default: found from the bundle's files)."""
    levels = {**DEFAULT_SEVERITY, **(severity or {})}
    registry = registry if registry is not None else bundle_registry(bundle)
    folder = texts if texts is not None and texts.is_dir() else None
    found = semantic_findings(bundle, table) + text_findings(bundle, folder, registry) + threshold_findings(bundle)
    if covered is not None:
        found += scenario_findings(bundle, covered)
    out = []
    for f in found:
        level = levels.get(f.code, f.severity)
        if level == "off":
            continue
        out.append(Finding(f.code, level, f.message, f.rule, f.where))
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    return sorted(out, key=lambda f: (order[f.severity], f.where or "", f.code))


def parse_levels(items: Iterable[str]) -> dict[str, str]:
    """``code=level`` strings (command line) → overrides; ValueError names a wrong one."""
    out = {}
    for item in items:
        code, _, level = item.partition("=")
        if code not in DEFAULT_SEVERITY or level not in LEVELS:
            raise ValueError(f"--severity {item!r}: expected CODE=LEVEL with CODE one of "
                             f"{', '.join(DEFAULT_SEVERITY)} and LEVEL one of {', '.join(LEVELS)}")
        out[code] = level
    return out


def config_levels(data: Any, where: str) -> dict[str, str]:
    """The ``severity`` mapping of a folder's lint.yaml."""
    if data is None:
        return {}
    sev = data.get("severity") if isinstance(data, Mapping) else None
    if not isinstance(sev, Mapping):
        raise ValueError(f"{where}: expected a mapping 'severity: {{code: level}}'")  # noqa: TRY004
    # YAML 1.1 reads a bare `off` as false
    return parse_levels(f"{k}={'off' if v is False else v}" for k, v in sev.items())
