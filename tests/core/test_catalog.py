"""Which law decides: routed by dossier type, the version in force at context.time (Amsterdam date),
or the one a request names — and what the caller may not choose (core/routing.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from poortwachter.authoring.scenarios import pinned
from poortwachter.core.catalog import Catalog
from poortwachter.core.decide import decide
from poortwachter.core.errors import RequestError
from poortwachter.core.routing import Refused, Routing

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog(build, r) -> Catalog:
    old = build([r("old-rule")], version="1.0.0", effective_from="2020-01-01")
    new = build([r("new-rule")], version="2.0.0", effective_from="2026-01-01")
    patch = build([r("patch-rule")], version="2.0.1", effective_from="2026-01-01")
    other = build([r("other-rule")], name="other", version="1.0.0", effective_from="2020-01-01")
    return Catalog.of([patch, other, new, old])


def rules(catalog: Catalog, request, default: str = "t") -> tuple[str, ...]:
    """The deciding rules with ``default`` routed for jgz dossiers (``name@version``: pinned)."""
    name, _, version = default.partition("@")
    request = pinned(request, default) if version else request
    return decide(catalog, request, NOW, Routing.replay({"jgz": name})).verdict.deciding_rules


def test_versions_are_ordered_by_effective_from_then_semver(catalog):
    assert catalog.names() == ["other", "t"]
    assert [b.bundle.version for b in catalog.versions["t"]] == ["1.0.0", "2.0.0", "2.0.1"]


@pytest.mark.parametrize(("time", "rule"), [
    ("2025-06-01T10:00:00+02:00", "old-rule"),
    ("2025-12-31T22:59:59Z", "old-rule"),        # 23:59:59 on 31 December in Amsterdam
    ("2025-12-31T23:00:00Z", "patch-rule"),      # already 1 January in Amsterdam
    ("2026-01-01", "patch-rule"),                # same effective_from: the higher version wins
    ("2030-01-01T00:00:00+01:00", "patch-rule"),
])
def test_version_in_force_at_context_time(catalog, request_for, time, rule):
    assert rules(catalog, request_for(time=time)) == (rule,)


def test_request_names_a_version(catalog, request_for):
    for name, rule in (("t@1.0.0", "old-rule"), ("t@2.0.0", "new-rule"), ("t", "patch-rule"),
                       ("other", "other-rule")):
        assert rules(catalog, request_for(context={"bundle": name})) == (rule,), name
    # a named version decides even outside its period
    assert rules(catalog, request_for(time="2021-01-01", context={"bundle": "t@2.0.0"})) == ("new-rule",)


def test_the_routed_bundle_applies_when_none_is_named(catalog, request_for):
    assert rules(catalog, request_for(), default="t@1.0.0") == ("old-rule",)
    assert rules(catalog, request_for(context={"bundle": None}), default="other") == ("other-rule",)


@pytest.mark.parametrize(("bundle", "time", "words"), [
    ("t", "2019-12-31T23:59:59+01:00", "a version of t in force on 2019-12-31 (the earliest: from 2020-01-01)"),
    ("nope", None, "one of the bundles loaded (other, t)"),
    ("othr", None, "one of the bundles loaded (other, t; did you mean 'other'?)"),
    ("t@9.9.9", None, "a version of t that is loaded (1.0.0, 2.0.0, 2.0.1)"),
    ("", None, "a bundle name such as"),
    (7, None, "a bundle name such as"),
])
def test_bundle_selection_errors(catalog, request_for, bundle, time, words):
    request = request_for(context={"bundle": bundle}, **({"time": time} if time else {}))
    with pytest.raises(RequestError) as err:
        decide(catalog, request, NOW, Routing.replay({"jgz": "t"}))
    assert err.value.path == "context.bundle"
    assert words in err.value.expected


def test_an_unrouted_dossier_type_is_refused(catalog, request_for):
    with pytest.raises(Refused) as err:
        decide(catalog, request_for(), NOW, Routing.replay({"jeugdhulp": "t"}))
    assert (err.value.cause, err.value.path, err.value.got) == ("dossier-type", "resource.properties.dossier_type", "'jgz'")
    assert "configured: jeugdhulp → t" in err.value.expected


def test_a_named_bundle_must_govern_the_dossier_type(build, r, request_for):
    jeugdhulp = build([r("jh-rule")], name="jh", dossier_types=["jeugdhulp"])
    catalog = Catalog.of([jeugdhulp, build([r("jgz-rule")], name="jgz-law")])
    with pytest.raises(Refused) as err:
        decide(catalog, request_for(context={"bundle": "jh"}), NOW, Routing.replay({"jgz": "jgz-law"}))
    assert err.value.cause == "dossier-type" and "jh governs jeugdhulp" in err.value.expected
    with pytest.raises(Refused):  # routing itself never bends it either: a misconfigured route is refused
        decide(catalog, request_for(), NOW, Routing.replay({"jgz": "jh"}))


@pytest.mark.parametrize(("time", "refused"), [
    ("2026-11-22T12:05:00Z", False),   # exactly at the edge of 300 s
    ("2026-11-22T12:05:01Z", True),
    ("2026-11-22T11:54:59Z", True),    # backdated
    ("2026-11-22T13:04:00+01:00", False),
])
def test_the_clock_may_move_only_within_the_skew(catalog, request_for, time, refused):
    routing = Routing({"jgz": "t"})
    if refused:
        with pytest.raises(Refused) as err:
            decide(catalog, request_for(time=time), NOW, routing)
        assert err.value.cause == "clock-skew" and NOW.isoformat() in err.value.expected
    else:
        assert decide(catalog, request_for(time=time), NOW, routing).verdict.deciding_rules == ("patch-rule",)


def test_a_pinned_version_needs_permission(catalog, request_for):
    request = request_for(time="2026-11-22T12:00:00Z", context={"bundle": "t@1.0.0"})
    with pytest.raises(Refused) as err:
        decide(catalog, request, NOW, Routing({"jgz": "t"}))
    assert (err.value.cause, err.value.path) == ("pinned-version", "context.bundle")
    allowed = Routing({"jgz": "t"}, allow_pinned=True)
    assert decide(catalog, request, NOW, allowed).verdict.deciding_rules == ("old-rule",)


def test_the_bundle_and_the_dossier_type_must_be_short_strings(catalog, request_for):
    with pytest.raises(RequestError) as err:
        decide(catalog, request_for(context={"bundle": "t" * 500}), NOW, Routing.replay({"jgz": "t"}))
    assert err.value.path == "context.bundle"
    request = request_for()
    request["resource"]["properties"]["dossier_type"] = ["jgz"]
    with pytest.raises(RequestError) as err:
        decide(catalog, request, NOW, Routing.replay({"jgz": "t"}))
    assert err.value.path == "resource.properties.dossier_type"
