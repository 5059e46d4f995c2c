"""Seeded generator of AuthZEN evaluation requests for the peer benchmark (issue 8).

The corpus speaks the decision API's vocabulary (docs/api.md) and carries
the facts of the reference rule set (bench/reference-rules.md). It is independent of the
Poortwachter engine on purpose: the same requests go to the floor, Cedar, Cerbos and, later,
Poortwachter, and all of them must agree.

Design choices, each for a reason:
- ages cluster around the rule thresholds (11/12, 15/16) and the adulthood edge (17/18), and a
  share of the birthdates fall on, just before or just after the birthday at ``context.time``,
  because that is where an engine's age arithmetic goes wrong;
- ``context.time`` is sometimes given in UTC ("Z") close to midnight, so the Europe/Amsterdam
  calendar date differs from the UTC date: ``client_age`` is the whole-year age on the Amsterdam
  date, as the contract says the service computes it;
- no 29 February birthdates: whether such a client turns a year older on 28 February or 1 March
  is a legal reading, not a benchmark question, and engines would differ for the wrong reason;
- every request has its own subject id and resource id: Cerbos 0.55 groups batch items by
  (subject.id, resource type+id) and decides a group with its first item's properties, which
  would corrupt any batch that reuses ids;
- every subject carries all three booleans (``gezag``, ``treatment_relation``,
  ``consent_of_client``), so no engine has to guess a default for a missing fact.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

RELATIONS: tuple[str, ...] = ("self", "ouder", "voogd", "pleegouder", "professional")
RELATION_WEIGHTS: tuple[int, ...] = (20, 30, 12, 10, 28)
ACTIONS: tuple[str, ...] = ("read", "copy", "write")
ACTION_WEIGHTS: tuple[int, ...] = (55, 25, 20)

#: every category of the contract; the two that rules a and f key on are weighted up.
CATEGORIES: tuple[str, ...] = (
    "personalia", "bsn", "groei", "vaccinatie", "medisch", "gespreksverslag", "dagrapportage",
    "behandelplan", "onderzoeksrapport", "ruwe_testgegevens", "rapport_derden",
    "informatie_over_derde", "geheim_adres", "meldcode", "eigen_verklaring", "client_document",
    "loggegevens", "administratief", "klacht", "werkaantekening", "algemene_informatie",
)
HEAVY_CATEGORIES: dict[str, int] = {"werkaantekening": 6, "ruwe_testgegevens": 6}

DISCIPLINES: tuple[str, ...] = (
    "jeugdarts", "jeugdverpleegkundige", "doktersassistent", "gedragswetenschapper",
    "jeugdhulpverlener", "auditor",
)

#: ages around the thresholds get most of the weight; the rest keeps the corpus realistic.
AGE_WEIGHTS: dict[int, int] = {
    **{age: 1 for age in range(24)},
    11: 10, 12: 10, 15: 10, 16: 10, 17: 8, 18: 8,
}

#: how the birthdate sits relative to the birthday in the year of ``context.time``.
BIRTHDAY_POSITIONS: tuple[str, ...] = ("random", "on_birthday", "day_before", "day_after")
BIRTHDAY_POSITION_WEIGHTS: tuple[int, ...] = (70, 12, 9, 9)

Request = dict[str, Any]


def whole_years(birthdate: date, on: date) -> int:
    """Age in whole years on a calendar date: the birthday itself counts as reached."""
    return on.year - birthdate.year - ((on.month, on.day) < (birthdate.month, birthdate.day))


def amsterdam_date(moment: datetime) -> date:
    """The calendar date in Europe/Amsterdam, the date the contract computes ages on."""
    return moment.astimezone(AMSTERDAM).date()


def _pick_moment(rng: random.Random) -> datetime:
    """A decision moment in 2025-2027, Amsterdam local; a fifth of them within an hour of midnight.

    Midnight moments exercise the difference between the UTC and the Amsterdam date.
    """
    day = date(2025, 1, 1) + timedelta(days=rng.randrange(3 * 365))
    if rng.random() < 0.2:
        minute = rng.choice([rng.randrange(0, 60), rng.randrange(23 * 60, 24 * 60)])
    else:
        minute = rng.randrange(7 * 60, 22 * 60)
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=AMSTERDAM)
    return local


def _format_moment(rng: random.Random, moment: datetime) -> str:
    """ISO 8601 with the Amsterdam offset, or (a quarter of the time) the same instant in UTC."""
    if rng.random() < 0.25:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat(timespec="seconds")


def _safe_date(year: int, month: int, day: int) -> date:
    """A date that never is 29 February (see the module docstring), moved to the 28th."""
    if month == 2 and day == 29:
        day = 28
    return date(year, month, day)


def _pick_birthdate(rng: random.Random, today: date) -> date:
    """A birthdate whose age on ``today`` follows AGE_WEIGHTS, some on the birthday boundaries."""
    age = rng.choices(list(AGE_WEIGHTS), weights=list(AGE_WEIGHTS.values()))[0]
    position = rng.choices(BIRTHDAY_POSITIONS, weights=BIRTHDAY_POSITION_WEIGHTS)[0]
    anniversary = _safe_date(today.year - age, today.month, today.day)
    if position == "on_birthday":
        birth = anniversary
    elif position == "day_before":  # birthday is tomorrow: still age - 1 today
        birth = anniversary + timedelta(days=1)
    elif position == "day_after":  # birthday was yesterday: age since yesterday
        birth = anniversary - timedelta(days=1)
    else:
        birth = anniversary - timedelta(days=rng.randrange(0, 365))
    if birth.month == 2 and birth.day == 29:
        birth = birth - timedelta(days=1)
    return min(birth, today)  # a newborn's "birthday tomorrow" would be a birth in the future


def _make_subject(rng: random.Random, i: int, relation: str, client_id: str) -> dict[str, Any]:
    """A subject with all reference facts set; odd combinations (pleegouder with gezag) included."""
    if relation == "professional":
        return {
            "type": "professional",
            "id": f"prof-{i:07d}",
            "properties": {
                "relation": "professional",
                "discipline": rng.choice(DISCIPLINES),
                "treatment_relation": rng.random() < 0.75,
                "gezag": False,
                "consent_of_client": rng.random() < 0.1,
            },
        }
    gezag_chance = {"self": 0.0, "ouder": 0.75, "voogd": 0.85, "pleegouder": 0.25}[relation]
    subject_id = client_id if relation == "self" else f"p-{i:07d}"
    return {
        "type": "person",
        "id": subject_id,
        "properties": {
            "relation": relation,
            "gezag": rng.random() < gezag_chance,
            "treatment_relation": False,
            "consent_of_client": rng.random() < (0.1 if relation == "self" else 0.5),
        },
    }


def _pick_category(rng: random.Random) -> str:
    """A contract category, with the rule-relevant ones (a, f) over-represented."""
    weights = [HEAVY_CATEGORIES.get(c, 1) for c in CATEGORIES]
    return rng.choices(CATEGORIES, weights=weights)[0]


def _make_author(rng: random.Random, i: int, subject: dict[str, Any]) -> dict[str, str]:
    """The item's author: often the subject itself (rule a's werkaantekening exception needs both)."""
    relation = subject["properties"]["relation"]
    if rng.random() < (0.45 if relation == "professional" else 0.15):
        kind = {"professional": "professional", "self": "client"}.get(relation, "ouder")
        return {"id": subject["id"], "kind": kind}
    return {"id": f"prof-a{rng.randrange(200):03d}", "kind": "professional"}


def _make_shielded(rng: random.Random, subject_id: str) -> list[str]:
    """Ids the item is shielded from: mostly none, sometimes others, sometimes this subject."""
    roll = rng.random()
    if roll < 0.7:
        return []
    others = [f"p-x{rng.randrange(1000):04d}" for _ in range(rng.randrange(1, 4))]
    if roll < 0.85:
        return others
    others.insert(rng.randrange(len(others) + 1), subject_id)
    return others


def make_request(rng: random.Random, i: int) -> Request:
    """The i-th request: one subject acting on one dossier item at one moment."""
    moment = _pick_moment(rng)
    today = amsterdam_date(moment)
    birthdate = _pick_birthdate(rng, today)
    client_id = f"c-{i:07d}"
    relation = rng.choices(RELATIONS, weights=RELATION_WEIGHTS)[0]
    subject = _make_subject(rng, i, relation, client_id)
    category = _pick_category(rng)
    written = today - timedelta(days=rng.randrange(0, 2000))
    return {
        "subject": subject,
        "action": {"name": rng.choices(ACTIONS, weights=ACTION_WEIGHTS)[0]},
        "resource": {
            "type": "dossier_item",
            "id": f"d-{i:07d}/{category}/{written.isoformat()}",
            "properties": {
                "dossier_type": "bench",  # the fixture governs only its own dossier type
                "category": category,
                "client": {"id": client_id, "birthdate": birthdate.isoformat()},
                "client_age": whole_years(birthdate, today),
                "author": _make_author(rng, i, subject),
                "shielded_from": _make_shielded(rng, subject["id"]),
                "confidential_from_parents": rng.random() < 0.3,
            },
        },
        "context": {
            "time": _format_moment(rng, moment),
            "purpose": "care",
            "consents": [],
            "objections": [],
            "attestations": [],
        },
    }


def generate(n: int, seed: int = 8) -> list[Request]:
    """``n`` requests, identical for the same (n, seed) on any machine and Python 3.11+.

    Only ``random.Random(seed)`` draws are used (no hash order, no clock), so a later run, another
    engine or CI sees exactly the same corpus; a prefix of a longer corpus equals a shorter one.
    """
    rng = random.Random(seed)
    return [make_request(rng, i) for i in range(n)]


def fingerprint(requests: list[Request]) -> str:
    """Short sha256 of the canonical JSON of a corpus, printed with results so runs can be matched."""
    import hashlib
    import json

    canonical = json.dumps(requests, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def main() -> None:
    """Print a corpus as JSON lines: ``python -m bench.corpus N SEED``."""
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for request in generate(n, seed):
        print(json.dumps(request, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
