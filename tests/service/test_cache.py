"""The decision cache stays right across a birthday, a withdrawn consent and a bundle switch."""

from __future__ import annotations

import gc
import itertools
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from poortwachter.core.calendar import AMSTERDAM
from poortwachter.service import cache
from poortwachter.service.cache import DecisionCache, key_of

from .conftest import Harness, build_artifact, yc_request
from .test_store import DENY_ALL, _variant


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _eval(h: Harness, req: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = h.post("/access/v1/evaluation", req).json()
    return body


def test_same_request_hits_the_cache(harness: Harness) -> None:
    cache = harness.svc.cache
    first = _eval(harness, yc_request())
    hits = cache.hits
    second = _eval(harness, yc_request())
    assert cache.hits == hits + 1
    assert first["decision"] == second["decision"] and first["context"]["reasons"] == second["context"]["reasons"]
    assert first["context"]["decision_id"] != second["context"]["decision_id"]  # ids are never cached


def test_requests_differing_only_in_irrelevant_ids_share_an_entry(harness: Harness) -> None:
    _eval(harness, yc_request())
    hits = harness.svc.cache.hits
    other = yc_request()
    other["resource"]["id"] = "d-1/another-item"
    _eval(harness, other)
    assert harness.svc.cache.hits == hits + 1


def test_birthday_without_context_time_changes_the_verdict(make_harness: Any) -> None:
    """The same raw request, no context.time: the day before the 12th birthday a parent may read
    (rule under 12), from the birthday on the 12-15 rule decides. A raw-request cache would answer
    yesterday's verdict."""
    clock = Clock(datetime(2026, 5, 29, 23, 59, tzinfo=AMSTERDAM))
    with make_harness(clock=clock) as h:
        req = yc_request(time=None, birthdate="2014-05-30", resource_props={"confidential_from_parents": True})
        before = _eval(h, req)
        assert before["decision"] is True
        assert before["context"]["reasons"][0]["rule"] == "parent-gezag-under-12"
        assert _eval(h, req)["decision"] is True and h.svc.cache.hits == 1
        clock.now = datetime(2026, 5, 30, 0, 0, 1, tzinfo=AMSTERDAM)  # the 12th birthday
        after = _eval(h, req)
        assert after["decision"] is False  # 12-15 and confidential from parents
        assert h.svc.cache.hits == 1  # a miss, not a stale hit


def test_withdrawn_consent_changes_the_verdict(make_harness: Any) -> None:
    clock = Clock(datetime(2026, 3, 1, 12, 0, tzinfo=AMSTERDAM))
    consent = {"by": "c-1", "for": "ouder", "scope": "dossier", "given_at": "2026-01-01",
               "withdrawn_at": "2026-03-02T09:00:00+01:00"}
    with make_harness(clock=clock) as h:
        req = yc_request(time=None, birthdate="2009-01-01", context={"consents": [consent]})  # 17
        assert _eval(h, req)["decision"] is True
        assert _eval(h, req)["decision"] is True
        clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=AMSTERDAM)  # the withdrawal takes effect
        body = _eval(h, req)
        assert body["decision"] is False
        assert body["context"]["missing"][0]["path"] == "consent.self"


def test_bundle_switch_is_a_new_key_space(harness: Harness, bundle_dir: Path, tmp_path: Path) -> None:
    assert _eval(harness, yc_request())["decision"] is True
    assert _eval(harness, yc_request())["decision"] is True
    shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "x"),
                bundle_dir / "svc-jgz-2026.1.0.bundle.json")
    harness.admin("/v1/bundles/reload")
    body = _eval(harness, yc_request())
    assert body["decision"] is False and body["context"]["reasons"][0]["rule"] == "nothing"
    harness.admin("/v1/bundles/svc-jgz/rollback")
    assert _eval(harness, yc_request())["decision"] is True


def test_cache_can_be_disabled_and_is_bounded() -> None:
    off = DecisionCache(0, 60)
    key = key_of("r", {"a": 1})
    off.put(key, None)  # type: ignore[arg-type]
    assert off.get(key) is None and off.stats()["size"] == 0
    small = DecisionCache(2, 60)
    for n in range(5):
        small.put(key_of("r", {"n": n}), ("v", {}))  # type: ignore[arg-type]
    assert small.stats()["size"] == 2


def test_fact_order_and_bool_int_values_do_not_collide() -> None:
    assert key_of("r", {"a": 1, "b": "x"}) == key_of("r", {"b": "x", "a": 1})
    assert key_of("r", {"a": 1}) != key_of("s", {"a": 1})


def test_a_key_tells_apart_every_difference_in_the_facts() -> None:
    base = {"subject.gezag": True, "client.age": 12, "action.name": "read"}
    assert key_of("r", base) == key_of("r", dict(reversed(base.items())))
    assert key_of("r", base) != key_of("r", {**base, "client.age": 13})  # another value
    assert key_of("r", base) != key_of("r", {**base, "attestation.emergency": True})  # another fact
    assert key_of("r", {"a": "x", "b": "y"}) != key_of("r", {"a": "y", "b": "x"})  # values swapped
    assert key_of("r", {"a": "x"}) != key_of("r", {"b": "x"})  # one fact, another name
    assert key_of("r", {}) == key_of("r", {}) != key_of("r", {"a": False})


def test_the_fact_orders_a_caller_can_vary_are_remembered_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The facts' order follows the order in which a caller lists its attestations. A caller that varies it on
    every request must not grow the memo of orders without end, and every order still gives the same key."""
    monkeypatch.setattr(cache, "_LAYOUTS", {})
    monkeypatch.setattr(cache, "MAX_LAYOUTS", 8)
    names = [f"attestation.{kind}" for kind in ("emergency", "meldrecht", "court_order", "serious_harm", "not_good_care")]
    keys = {key_of("r", dict.fromkeys(order, True)) for order in itertools.permutations(names)}  # 120 orders
    assert len(keys) == 1
    assert len(cache._LAYOUTS) == 8


def test_after_a_collection_a_key_holds_nothing_the_garbage_collector_walks() -> None:
    """Issue 16: keys were frozensets of the fact items, sixty new tuples per youth-care entry, and the
    collector walked them all in the entries made since its last pass (45–140 ms pauses on the real
    bundles over HTTP). A key is now tuples of shared values, which the collector stops tracking."""
    facts = {f"fact.{n}": ("none" if n % 3 else n % 2 == 0) for n in range(60)}
    key = key_of("sha256:abc", facts)
    gc.collect()
    gc.collect()  # (an outer tuple is untracked once the tuples in it were, at the pass after theirs)
    assert not gc.is_tracked(key)
    assert not any(gc.is_tracked(part) for part in key)


def test_cache_disabled_service_still_decides(make_harness: Any) -> None:
    with make_harness(cache_size=0) as h:
        assert _eval(h, yc_request())["decision"] is True
        assert _eval(h, yc_request())["decision"] is True
        assert h.svc.cache.hits == 0


def test_an_entry_past_its_ttl_is_never_returned() -> None:
    now = [100.0]
    cache = DecisionCache(10, 60, clock=lambda: now[0])
    key = key_of("r", {"a": 1})
    cache.put(key, ("v", {}))  # type: ignore[arg-type]
    now[0] = 159.9
    assert cache.get(key) == ("v", {})
    now[0] = 160.0
    assert cache.get(key) is None and cache.stats() == {"size": 0, "capacity": 10, "hits": 1, "misses": 1}
    cache.put(key, ("w", {}))  # type: ignore[arg-type]  # a new entry lives a full TTL again
    now[0] = 219.0
    assert cache.get(key) == ("w", {})


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = DecisionCache(2, 60)
    a, b, c = (key_of("r", {"n": n}) for n in range(3))
    cache.put(a, ("a", {}))  # type: ignore[arg-type]
    cache.put(b, ("b", {}))  # type: ignore[arg-type]
    assert cache.get(a) == ("a", {})  # a is now the most recently used: b goes when c arrives
    cache.put(c, ("c", {}))  # type: ignore[arg-type]
    assert cache.get(b) is None and cache.get(a) == ("a", {}) and cache.get(c) == ("c", {})
    cache.put(a, ("a2", {}))  # type: ignore[arg-type]  # replacing keeps the size
    assert cache.stats()["size"] == 2 and cache.get(a) == ("a2", {})
