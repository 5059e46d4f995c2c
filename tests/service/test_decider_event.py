"""The log event's attestation kinds: the lookup of the contract's known kinds equals a scan of all facts."""

from __future__ import annotations

import itertools

from poortwachter.core.vocabulary import ATTESTATIONS
from poortwachter.service.decider import _attestation_kinds


def test_known_kinds_looked_up_equal_a_scan_of_the_facts() -> None:
    base = {"subject.type": "professional", "client.age": 12, "attestation.note": "not a flag"}
    for n in range(len(ATTESTATIONS) + 1):
        for made in itertools.combinations(ATTESTATIONS, n):
            facts = {**base, **{f"attestation.{k}": True for k in made}}
            looked_up = _attestation_kinds(facts, youth_care=True)
            assert looked_up == _attestation_kinds(facts, youth_care=False) == tuple(sorted(made))
