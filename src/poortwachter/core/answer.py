"""The JSON shapes of answers (contract: decision-api.md, AuthZEN response ``context``).

Shared by the CLI and the HTTP service so both speak exactly the same words.
"""

from __future__ import annotations

from typing import Any

from .policy.evaluate import Explanation
from .verdict import Missing, Obligation, Reason, Text, Verdict


def text(t: Text) -> dict[str, str]:
    return {"nl": t.nl, "en": t.en}


def reason(r: Reason) -> dict[str, Any]:
    return {"rule": r.rule, "effect": r.effect, "text": text(r.text), "basis": list(r.basis), "source": list(r.source)}


def obligation(o: Obligation) -> dict[str, Any]:
    """AuthZEN Obligations profile shape: {id, type, properties}."""
    return {"id": o.id, "type": "custom", "properties": {"text": text(o.text)}}


def missing(m: Missing) -> dict[str, Any]:
    prefix, _, detail = m.fact.partition(".")
    item: dict[str, Any] = {"fact": prefix if detail else m.fact}
    if prefix == "consent":
        item["from"] = detail
    elif prefix == "attestation":
        item["kind"] = detail
    item.update({"path": m.fact, "rule": m.rule, "text": text(m.text)})
    return item


MAX_REMEMBERED = 4096
_rendered: dict[int, tuple[Verdict, dict[str, Any]]] = {}


def verdict_context(v: Verdict, decision_id: str | None = None) -> dict[str, Any]:
    """The answer's ``context``. Without a decision id the dict is remembered per verdict (evaluate
    gives equal outcomes one shared Verdict), so it is shared: read it, copy it, never change it."""
    if decision_id is not None or v.errors:
        return _context(v, decision_id)
    known = _rendered.get(id(v))
    if known is not None and known[0] is v:  # the entry holds ``v``, so its id is not reused meanwhile
        return known[1]
    if len(_rendered) >= MAX_REMEMBERED:
        _rendered.clear()
    ctx = _context(v, None)
    _rendered[id(v)] = (v, ctx)
    return ctx


def _context(v: Verdict, decision_id: str | None) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    if decision_id is not None:
        ctx["decision_id"] = decision_id
    ctx.update({
        "bundle": {"name": v.bundle.name, "version": v.bundle.version, "revision": v.bundle.revision},
        "reasons": [reason(r) for r in v.reasons],
        "obligations": [obligation(o) for o in v.obligations],
        "missing": [missing(m) for m in v.missing],
    })
    if v.errors:
        ctx["errors"] = list(v.errors)
    return ctx


def explanation(e: Explanation, decision_id: str | None = None) -> dict[str, Any]:
    return {
        "decision": e.verdict.decision,
        "context": verdict_context(e.verdict, decision_id),
        "facts": dict(sorted(e.facts.items())),
        "rules": [
            {"rule": t.rule, "effect": t.effect, "considered": t.considered, "applied": t.applied,
             "failed": list(t.failed)}
            for t in e.rules
        ],
    }
