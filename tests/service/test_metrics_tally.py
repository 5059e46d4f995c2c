"""A batch's decision metrics are tallied and added once, when the call is done (service/metrics.py
``tallied``): the series must read exactly as if each observation had been made on its own, and the
tally must reach the series however the call ends.

The tally writes a histogram child's buckets and sum itself (prometheus_client keeps no public way to
add many observations at once); this test is what notices if a new prometheus_client keeps them
otherwise.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from poortwachter.service import metrics

from .conftest import Harness, yc_request

#: every bucket bound exactly, just above each, nothing, and more than the last bound
SECONDS = [0.0, *metrics.LATENCY_BUCKETS, *(b * 1.01 for b in metrics.LATENCY_BUCKETS), 2.0, 3e-6, 4.2e-5]


Labels = tuple[tuple[str, str], ...]


def _samples(bundle: str) -> dict[tuple[str, Labels], float]:
    """Every decision sample of ``bundle``: (sample name, its other labels) → value."""
    found = {}
    for family in REGISTRY.collect():
        if family.name not in ("poortwachter_decisions", "poortwachter_decision_duration_seconds"):
            continue
        for sample in family.samples:
            if sample.labels.get("bundle") == bundle and not sample.name.endswith("_created"):
                found[sample.name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "bundle"))] = \
                    sample.value
    return found


def _total(samples: dict[tuple[str, Labels], float], name: str, **labels: str) -> float:
    return sum(v for (n, lb), v in samples.items() if n == name and labels.items() <= dict(lb).items())


def _observe(bundle: str) -> None:
    for i, seconds in enumerate(SECONDS):
        metrics.observe_decision(bundle, "1.0.0", "read", i % 3 == 0, "r-1" if i % 2 else "r-2", seconds)
        metrics.observe_cache(i % 4 == 0)


def _cache() -> tuple[float, float]:
    return (REGISTRY.get_sample_value("poortwachter_cache_requests_total", {"result": "hit"}) or 0.0,
            REGISTRY.get_sample_value("poortwachter_cache_requests_total", {"result": "miss"}) or 0.0)


def test_a_tally_adds_what_the_observations_one_by_one_add() -> None:
    hits, misses = _cache()
    _observe("tally-one-by-one")
    one_by_one = _samples("tally-one-by-one")
    after_direct = _cache()
    with metrics.tallied():
        _observe("tally-tallied")
        assert not any(_samples("tally-tallied").values())
        assert _cache() == after_direct  # nothing yet: the call is not done
    assert _samples("tally-tallied") == pytest.approx(one_by_one)
    assert _total(_samples("tally-tallied"), "poortwachter_decision_duration_seconds_count") == len(SECONDS)
    hit_step, miss_step = after_direct[0] - hits, after_direct[1] - misses
    assert _cache() == (after_direct[0] + hit_step, after_direct[1] + miss_step) and hit_step and miss_step


def test_a_tally_reaches_the_series_when_the_call_fails() -> None:
    with pytest.raises(RuntimeError), metrics.tallied():
        metrics.observe_decision("tally-failed", "1.0.0", "read", True, "r-1", 1e-4)
        raise RuntimeError("the call broke off")
    assert _total(_samples("tally-failed"), "poortwachter_decisions_total", decision="allow") == 1
    metrics.observe_decision("tally-failed", "1.0.0", "read", True, "r-1", 1e-4)  # and no tally is left behind
    assert _total(_samples("tally-failed"), "poortwachter_decisions_total", decision="allow") == 2


def test_a_batch_is_counted_by_the_time_it_is_answered(harness: Harness) -> None:
    def decisions() -> float:  # every label: after many tests a rule id may be counted as "other" (a bounded label)
        return sum(sample.value for family in REGISTRY.collect() if family.name == "poortwachter_decisions"
                   for sample in family.samples if sample.name == "poortwachter_decisions_total")

    before, (hits, misses) = decisions(), _cache()
    allow, shielded = yc_request(), yc_request(resource_props={"shielded_from": ["p-1"]})
    r = harness.post("/access/v1/evaluations", {"evaluations": [allow, shielded, allow, allow]})
    assert [a["decision"] for a in r.json()["evaluations"]] == [True, False, True, True]
    assert decisions() == before + 4
    after = _cache()
    assert after[0] + after[1] == hits + misses + 4
