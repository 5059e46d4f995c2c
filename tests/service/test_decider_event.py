"""The log event's attestation kinds: a lookup of the kinds the bundle's vocabulary knows equals a scan
of all facts, for the contract's vocabulary and a declared one."""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundles_once import compiled, load  # tests/bundles_once.py

from poortwachter.core.decide import derive_facts
from poortwachter.core.request import parse_envelope
from poortwachter.core.vocabulary import ATTESTATIONS, YOUTH_CARE
from poortwachter.service.decider import _attestation_kinds

from .conftest import ROOT


def _scan(facts: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(k[len("attestation."):] for k, v in facts.items() if v is True and k.startswith("attestation.")))


def test_the_contract_vocabularys_kinds_looked_up_equal_a_scan_of_the_facts() -> None:
    known = tuple(sorted((k[len("attestation."):], k) for k in YOUTH_CARE.facts if k.startswith("attestation.")))
    assert [kind for kind, _ in known] == sorted(ATTESTATIONS)
    base = {"subject.type": "professional", "client.age": 12}
    for n in range(len(ATTESTATIONS) + 1):
        for made in itertools.combinations(ATTESTATIONS, n):
            facts = {**base, **{f"attestation.{k}": True for k in made}}
            assert _attestation_kinds(facts, known) == _scan(facts) == tuple(sorted(made))


def test_a_compiled_bundle_knows_its_vocabularys_attestation_kinds(tmp_path: Path) -> None:
    """The contract's kinds for a youth-care bundle; a declared vocabulary's boolean ``attestation.*``
    facts (and no other) for a declared one, and the kinds a request makes are found by the lookup."""
    assert compiled(load(ROOT / "policies" / "nl-jgz")[0], "test").attestations == tuple(
        (kind, f"attestation.{kind}") for kind in sorted(ATTESTATIONS))
    assert compiled(load(ROOT / "policies" / "bench-reference")[0], "test").attestations == ()
    folder = tmp_path / "declared"
    shutil.copytree(ROOT / "policies" / "bench-reference", folder)
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("  facts:\n", "  facts:\n"
                        "    attestation.spoed: {type: bool, from: context.spoed}\n"
                        "    attestation.beoordeling: {type: bool, from: context.beoordeling}\n"
                        "    attestation.door: {type: str, from: context.door}\n", 1))
    bundle = compiled(load(folder)[0], "test")
    assert bundle.attestations == (("beoordeling", "attestation.beoordeling"), ("spoed", "attestation.spoed"))
    request = {"subject": {"type": "person", "id": "p-1", "properties": {"relation": "ouder"}},
               "action": {"name": "read"},
               "resource": {"type": "dossier_item", "id": "d-1/x",
                            "properties": {"category": "groei", "client_age": 9, "dossier_type": "bench"}},
               "context": {"spoed": True, "beoordeling": False, "door": "prof-1"}}
    facts = derive_facts(bundle, parse_envelope(request, datetime(2026, 1, 1, tzinfo=UTC)))
    assert _attestation_kinds(facts, bundle.attestations) == _scan(facts) == ("spoed",)
