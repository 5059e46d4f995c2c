"""The one pipeline of the core: request data → envelope → routed bundle → facts → verdict.

    decide(catalog, data, now, routing) = evaluate(bundle, facts) where
        (envelope, bundle, facts) = prepare(catalog, data, now, routing)

The service calls ``prepare`` and ``evaluate`` itself only so its cache can sit between facts and
verdict; the CLI and the scenario runner call ``decide``. The clock comes in as ``now`` (the request's
own ``context.time`` decides, within the routing's skew); nothing here does I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from .catalog import Catalog
from .declared_facts import derive_custom
from .facts import derive
from .policy.compile import CompiledBundle
from .policy.evaluate import evaluate
from .policy.values import FactValue
from .request import Envelope, parse_envelope
from .routing import Routing, check_clock
from .verdict import Verdict


def derive_facts(bundle: CompiledBundle, envelope: Envelope) -> dict[str, FactValue]:
    """The facts ``bundle``'s vocabulary derives from ``envelope`` (RequestError if malformed)."""
    vocab = bundle.bundle.vocabulary
    if not vocab.youth_care:
        return derive_custom(envelope, vocab)
    return derive(envelope, bundle.bundle.consent_by_age, bundle.bundle.thresholds["client.age"])


# NamedTuples rather than frozen dataclasses, like the envelope (core/request.py): as immutable and typed,
# built in one step (with tuple.__new__, bound once: a NamedTuple's constructor is a Python function).
_new = tuple.__new__


class Prepared(NamedTuple):
    """A request ready to evaluate: what it says, the law that decides it and the facts that law sees."""

    envelope: Envelope
    bundle: CompiledBundle
    facts: dict[str, FactValue]


class Decided(NamedTuple):
    """A verdict with what produced it, for explanations, logs and the cache."""

    envelope: Envelope
    bundle: CompiledBundle
    facts: dict[str, FactValue]
    verdict: Verdict


def prepare(catalog: Catalog, data: Any, now: datetime, routing: Routing) -> Prepared:
    """Parse, check the clock, route to the bundle in force, derive facts; RequestError (or its
    subclass routing.Refused) when the request is malformed or may not be decided as asked."""
    envelope = parse_envelope(data, now)
    if routing.max_clock_skew is not None:  # (check_clock does nothing without a limit)
        check_clock(envelope, now, routing)
    bundle = catalog.select_for(envelope, routing)
    return _new(Prepared, (envelope, bundle, derive_facts(bundle, envelope)))


def decide(catalog: Catalog, data: Any, now: datetime, routing: Routing) -> Decided:
    """The verdict on ``data`` by the law ``routing`` picks for it."""
    p = prepare(catalog, data, now, routing)
    return Decided(p.envelope, p.bundle, p.facts, evaluate(p.bundle, p.facts))
