"""The "floor": the 8 reference rules as one plain Python function.

Why it exists: it is the cheapest honest way to decide these rules in Python (no engine, no
parsing, no indirection), so it bounds from below what any Python engine can cost per decision,
and, written straight from bench/reference-rules.md, it is the oracle the peers are
cross-checked against.

Readings (fixed in the reference): deny overrides allow, default deny; a grants professionals read
and write, never copy; confidential_from_parents only matters in d; h hits a pleegouder even with
gezag. Every fact the rules read must be present (the corpus always sets them all): a missing one
raises KeyError instead of being guessed, because Cedar and Cerbos would each guess differently
(a condition that fails to evaluate does not fire, which can turn a deny into an allow).
"""

from __future__ import annotations

from typing import Any

PARENTS = frozenset(("ouder", "voogd"))


def _denied(action: str, subject_id: str, relation: str, gezag: bool, res: dict[str, Any]) -> bool:
    """Rules f, g, h: any of them makes the answer deny whatever the allow rules say."""
    if subject_id in res["shielded_from"]:  # g
        return True
    if action == "write":  # f and h cover read/copy only
        return False
    if relation == "pleegouder" or (relation == "ouder" and not gezag):  # h
        return True
    return action == "copy" and res["category"] == "ruwe_testgegevens" and relation != "professional"  # f


def _allowed(action: str, subject_id: str, relation: str, props: dict[str, Any], res: dict[str, Any]) -> bool:
    """Rules a-e: at least one must apply for an allow."""
    if relation == "professional":  # a
        if action == "copy" or not props["treatment_relation"]:
            return False
        return not (res["category"] == "werkaantekening" and res["author"]["id"] != subject_id)
    if action == "write":  # b-e never grant write
        return False
    age: int = res["client_age"]
    if relation == "self":  # b
        return age >= 12
    if relation not in PARENTS or not props["gezag"]:
        return False
    if age < 12:  # c
        return True
    if action != "read":  # d, e grant read only
        return False
    if age < 16:  # d
        return not res["confidential_from_parents"]
    return bool(props["consent_of_client"])  # e


def decide(request: dict[str, Any]) -> bool:
    """True when the reference rules allow the AuthZEN ``request``; deny overrides, default deny."""
    subject = request["subject"]
    props = subject["properties"]
    res = request["resource"]["properties"]
    action = request["action"]["name"]
    subject_id = subject["id"]
    relation = props["relation"]
    if _denied(action, subject_id, relation, bool(props["gezag"]), res):
        return False
    return _allowed(action, subject_id, relation, props, res)
