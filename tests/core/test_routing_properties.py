"""Properties that guard "the caller does not choose the law" (issue 11 item 6), over every shipped bundle.

1. Each bundle's scenario suites replayed as a service routes them (no ``context.bundle`` unless a scenario
   names one) give the same decisions, by the same bundle version, as run against the bundle itself.
2. Over random requests, bundle names, versions and routing tables: no request is ever decided by a bundle
   that does not govern its dossier type, and one that names no bundle is decided by the routed one.
3. No request whose ``context.time`` lies beyond the skew from the server's clock is decided.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bundles_once import compiled, load, sibling_catalog  # tests/bundles_once.py
from core_strategies import requests  # tests/core/core_strategies.py
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poortwachter.artifacts.folder import scenario_files
from poortwachter.authoring.scenarios import read_suites, run
from poortwachter.core.catalog import Catalog
from poortwachter.core.decide import decide
from poortwachter.core.errors import RequestError
from poortwachter.core.routing import DEFAULT_ROUTES, NO_DOSSIER_TYPE, Refused, Routing

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = sorted(p.parent for p in (ROOT / "policies").glob("*/bundle.yaml"))
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _catalog() -> Catalog:
    return Catalog.of(compiled(load(f)[0], "test") for f in FOLDERS)


CATALOG = _catalog()
NAMES = CATALOG.names()
VERSIONED = [f"{n}@{b.bundle.version}" for n, bs in CATALOG.versions.items() for b in bs]


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_scenarios_routed_by_dossier_type_decide_as_when_the_bundle_is_named(folder: Path) -> None:
    bundle, _, _ = load(folder)
    scenarios, _ = read_suites(scenario_files(folder))
    catalog = sibling_catalog(folder, bundle)
    named = run(catalog, bundle.key, scenarios)
    own = bundle.dossier_types or (NO_DOSSIER_TYPE,)  # a fixture vocabulary: the requests without a dossier type
    routes = {**DEFAULT_ROUTES, **{t: bundle.name for t in own}}  # as its operator would configure it
    routed = run(catalog, bundle.key, scenarios, Routing.replay(routes))
    assert len(named) == len(routed) == len(scenarios)
    differ = [(a.scenario.id, a.bundle_key, b.bundle_key, b.problems[:1]) for a, b in zip(named, routed)
              if (a.verdict, a.bundle_key, a.passed) != (b.verdict, b.bundle_key, b.passed)]
    assert not differ, differ


@st.composite
def routed_requests(draw: st.DrawFn) -> tuple[dict[str, Any], Routing]:
    """A valid youth-care request with any dossier type, any (or no) bundle named, any routing table."""
    request = draw(requests())
    props = request["resource"]["properties"]
    dossier_type = draw(st.sampled_from(["jgz", "jeugdhulp", "bench", None]))
    if dossier_type is None:
        props.pop("dossier_type", None)
    else:
        props["dossier_type"] = dossier_type
    named = draw(st.sampled_from([None, *NAMES, *VERSIONED]))
    if named is not None:
        request["context"]["bundle"] = named
    request["context"]["time"] = NOW.isoformat()
    table = draw(st.dictionaries(st.sampled_from(["jgz", "jeugdhulp", "bench", NO_DOSSIER_TYPE]),
                                 st.sampled_from(NAMES), max_size=4))
    return request, Routing(table, allow_pinned=draw(st.booleans()))


@SETTINGS
@given(case=routed_requests())
def test_no_request_is_decided_by_a_bundle_that_does_not_govern_its_dossier_type(
        case: tuple[dict[str, Any], Routing]) -> None:
    request, routing = case
    dossier_type = request["resource"]["properties"].get("dossier_type")
    try:
        decided = decide(CATALOG, request, NOW, routing)
    except RequestError:
        return  # refused or malformed: not decided at all
    assert decided.bundle.bundle.governs(dossier_type), (decided.bundle.bundle.key, dossier_type)
    named = request["context"].get("bundle")
    if named is None:
        assert decided.bundle.bundle.name == routing.bundles[dossier_type or NO_DOSSIER_TYPE]
    else:
        assert decided.bundle.bundle.name == named.partition("@")[0]
        assert "@" not in named or routing.allow_pinned


@SETTINGS
@given(request=requests(), offset=st.integers(-20 * 365 * 86_400, 20 * 365 * 86_400))
def test_no_request_beyond_the_clock_skew_is_decided(request: dict[str, Any], offset: int) -> None:
    request["resource"]["properties"]["dossier_type"] = "jgz"
    request["context"].pop("bundle", None)
    request["context"]["time"] = (NOW + timedelta(seconds=offset)).isoformat()
    routing = Routing(DEFAULT_ROUTES)
    assert routing.max_clock_skew is not None
    beyond = abs(offset) > routing.max_clock_skew.total_seconds()
    try:
        decide(CATALOG, request, NOW, routing)
    except Refused as exc:
        assert exc.cause == "clock-skew" and beyond, exc
        return
    except RequestError:
        assert not beyond, "a request beyond the skew must be refused for its clock, before anything else"
        return
    assert not beyond, f"decided at {offset} s from the server's clock"
