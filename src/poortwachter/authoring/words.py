"""Regions in words: who does what (``parents of a 12-year-old — inzage (read) of groei``).

Shared by the diff, the lint findings and the decision matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

from .constraints import _ACTION, _CATEGORY
from .space import Space

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
WHO = ("subject.type", "subject.relation", "subject.gezag", "client.age", _ACTION, _CATEGORY)


def _values(space: Space, fact: str, masks: Sequence[int]) -> list[str] | None:
    """The labels of a fact's constraint, None when unconstrained (or not in the space)."""
    if fact not in space.index:
        return None
    d = space.dim(fact)
    m = masks[space.index[fact]]
    return None if m == d.full else [d.label(i) for i in d.members(m)]


def join_words(words: list[str]) -> str:
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
            who = "everyone except " + join_words([RELATION_WORDS.get(v, v) for v in excluded])
        else:
            who = join_words([RELATION_WORDS.get(v, v) for v in relations])
    elif types is not None:
        who = join_words([TYPE_WORDS.get(v, v) for v in types])
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
    acts = "any action" if actions is None else join_words([ACTION_WORDS.get(a, a) for a in actions])
    cats = _values(space, _CATEGORY, masks)
    if cats is None:
        return acts
    d = space.dim(_CATEGORY)
    if len(cats) > d.size // 2:
        return f"{acts} of every category except {join_words(_values_complement(space, _CATEGORY, masks))}"
    return f"{acts} of {join_words(cats)}"


def _values_complement(space: Space, fact: str, masks: Sequence[int]) -> list[str]:
    d = space.dim(fact)
    m = masks[space.index[fact]]
    return [d.label(i) for i in range(d.size) if not m >> i & 1]
