"""The many decisions of one call (batch, filter, search): bounded before they start, paced while they run.

Why a work budget and not only an item count: a batch's top-level ``context`` applies to every item
and each item parses its consents, objections and attestations again, so 1,000 empty items under a
context of 14,000 consents (a 1 MB body) cost 14 million parses. The budget counts what deciding
costs: per request 1 plus the entries of those context lists, after the defaults are merged.

Why pacing: a worker process runs every request on one event loop, so a long batch would hold every
other caller of that worker. The decisions run in slices of a few milliseconds with a yield to the
loop between them; nothing is decided in another thread (the cache, the id counters and the log
queue stay single-threaded).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from time import perf_counter
from typing import Any

from ..core.catalog import Catalog
from . import metrics
from .decider import Answer, Call, Decider
from .problems import Problem

#: context lists the core parses again for every request they apply to
WORK_KEYS = ("consents", "objections", "attestations")
#: seconds of deciding before the event loop gets a turn
SLICE = 0.005


def work_of(request: Any) -> int:
    """1 plus the entries of the request's context lists (malformed parts count 1: they fail fast)."""
    context = request.get("context") if type(request) is dict else None
    if type(context) is not dict:
        return 1
    units = 1
    for key in WORK_KEYS:
        value = context.get(key)
        if type(value) is list:
            units += len(value)
    return units


def check_work(requests: Sequence[Any], budget: int, field: str) -> None:
    """413 naming ``max_batch_work`` when deciding ``requests`` would cost more than ``budget`` units."""
    total = sum(map(work_of, requests))
    if total > budget:
        raise Problem(413, "too-much-work",
                      f"{len(requests)} decisions with their context lists (consents, objections, attestations) "
                      f"are {total} work units; at most {budget} per call (setting max_batch_work)",
                      field=field, expected=f"at most {budget} work units (each decision 1 + its context "
                      "list entries)", got=f"{total} work units")


async def decide_paced(decider: Decider, requests: list[Any], call: Call, semantic: str = "execute_all",
                       catalog: Catalog | None = None) -> list[Answer]:
    """Answers in request order (the short-circuit semantics stop after the deciding item), all by one
    snapshot of the bundles (``catalog``, else the decider's current one, taken once) at one moment (one
    clock reading: the 'now' of every item and its record's time), yielding the event loop every
    ``SLICE`` seconds. Their metrics are tallied and added when the call is done (metrics.tallied)."""
    catalog, now = catalog or decider.catalog(), decider.clock()
    answers: list[Answer] = []
    deadline = perf_counter() + SLICE
    with metrics.tallied():
        for data in requests:
            answer = decider.decide_item(data, call, catalog, now)
            answers.append(answer)
            if semantic == "deny_on_first_deny" and not answer["decision"]:
                break
            if semantic == "permit_on_first_permit" and answer["decision"]:
                break
            if perf_counter() > deadline:
                await asyncio.sleep(0)
                deadline = perf_counter() + SLICE
    metrics.observe_batch(len(requests))
    return answers
