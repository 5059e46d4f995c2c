from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from poortwachter.core.calendar import AMSTERDAM
from poortwachter.core.decide import derive_facts
from poortwachter.core.policy.compile import CompiledBundle
from poortwachter.core.policy.evaluate import evaluate
from poortwachter.core.policy.values import FactValue
from poortwachter.core.request import parse_envelope
from poortwachter.core.verdict import Verdict

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def facts_of(mini: CompiledBundle) -> Callable[..., dict[str, FactValue]]:
    """Facts of a request under a bundle (the mini fixture unless given)."""

    def run(request: dict[str, Any], bundle: CompiledBundle | None = None) -> dict[str, FactValue]:
        return derive_facts(bundle or mini, parse_envelope(request, NOW))

    return run


@pytest.fixture
def verdict_of(mini: CompiledBundle) -> Callable[..., Verdict]:
    def run(request: dict[str, Any], bundle: CompiledBundle | None = None) -> Verdict:
        b = bundle or mini
        return evaluate(b, derive_facts(b, parse_envelope(request, NOW)))

    return run


def rule(rid: str, effect: str = "allow", actions: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A valid rule mapping with the mandatory texts filled in."""
    return {
        "id": rid, "effect": effect, "actions": actions or ["read"],
        "reason": {"nl": f"regel {rid}", "en": f"rule {rid}"},
        "basis": ["BW 7:456"], "source": ["fixture.txt:1-2"],
        **extra,
    }


def manifest(**extra: Any) -> dict[str, Any]:
    return {"name": "t", "version": "1.0.0", "effective_from": "2020-01-01", "dossier_types": ["jgz"], **extra}


@pytest.fixture
def build() -> Callable[..., CompiledBundle]:
    """Compile a bundle from data: ``build([rule(...), ...], **manifest_keys)``."""
    from poortwachter.core.policy.compile import compile_bundle
    from poortwachter.core.policy.parse import parse_bundle

    def run(rules: list[dict[str, Any]], **meta: Any) -> CompiledBundle:
        bundle, _ = parse_bundle("bundle.yaml", manifest(**meta), [("rules/r.yaml", rules)])
        return compile_bundle(bundle, "test")

    return run


@pytest.fixture(scope="session")
def r() -> Callable[..., dict[str, Any]]:
    """The :func:`rule` builder."""
    return rule
