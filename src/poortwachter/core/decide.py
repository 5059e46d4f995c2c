"""The one entry point of the core: request data → facts → verdict.

    decide(catalog, data, now) = evaluate(bundle, derive_facts(bundle, parse_envelope(data, now)))

The clock comes in as ``now`` (used only when the request has no ``context.time``); nothing here
does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .catalog import Catalog
from .custom import derive_custom
from .facts import FactValue, age_band, derive
from .policy.compile import CompiledBundle
from .policy.evaluate import evaluate
from .request import Envelope, parse_envelope, parse_youth_care
from .verdict import Verdict


def derive_facts(bundle: CompiledBundle, envelope: Envelope) -> dict[str, FactValue]:
    """The facts ``bundle``'s vocabulary derives from ``envelope`` (RequestError if malformed)."""
    vocab = bundle.bundle.vocabulary
    if not vocab.youth_care:
        return derive_custom(envelope, vocab)
    facts = derive(parse_youth_care(envelope), bundle.bundle.consent_by_age)
    facts["client.age_band"] = age_band(int(facts["client.age"]), bundle.bundle.thresholds["client.age"])
    return facts


@dataclass(frozen=True, slots=True)
class Decided:
    """A verdict with what produced it, for explanations, logs and the cache."""

    envelope: Envelope
    bundle: CompiledBundle
    facts: dict[str, FactValue]
    verdict: Verdict


def decide(catalog: Catalog, data: Any, now: datetime, default_bundle: str | None = None) -> Decided:
    """Parse, pick the bundle in force (``context.bundle`` or the default), derive facts, evaluate."""
    envelope = parse_envelope(data, now)
    bundle = catalog.select_for(envelope, default_bundle)
    facts = derive_facts(bundle, envelope)
    return Decided(envelope, bundle, facts, evaluate(bundle, facts))
