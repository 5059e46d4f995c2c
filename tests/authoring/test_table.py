"""The decision table is exact: its verdict equals the evaluator's on every combination of facts."""

from __future__ import annotations

import csv
import io

import pytest
from authoring_strategies import fact_values
from conftest import bundle_at, real
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poortwachter.authoring.space import OTHER, Space
from poortwachter.authoring.table import FlatTable, Table
from poortwachter.authoring.table_render import render_csv, render_markdown, table_json
from poortwachter.cli import main
from poortwachter.core.policy.compile import CompiledBundle, compile_bundle
from poortwachter.core.policy.evaluate import evaluate
from poortwachter.core.policy.model import Bundle

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


_compiled: dict[str, CompiledBundle] = {}


def _agrees(bundle: Bundle, table: Table | FlatTable, facts: dict) -> None:
    if bundle.key not in _compiled:
        _compiled[bundle.key] = compile_bundle(bundle, "t")
    verdict = evaluate(_compiled[bundle.key], facts)
    got = table.verdict(facts)
    assert got.decision == verdict.decision
    assert got.rules == verdict.deciding_rules
    assert got.obligations == tuple(o.id for o in verdict.obligations)


def test_domains_follow_thresholds_and_constants(mini: Bundle, authzen: Bundle) -> None:
    space = Space((mini,))
    assert space.dim("client.age").values == ((0, 11), (12, 15), (16, 17), (18, None))
    assert [space.dim("resource.years_since_last_change").label(i) for i in range(3)] == ["unknown", "0–19", "20+"]
    assert "subject.discipline" not in space.index  # no rule of mini mentions it
    zen = Space((authzen,))
    assert zen.dim("subject.id").values == ("alice", "bob", OTHER)
    assert zen.dim("resource.status").values == ("archived", OTHER)


def test_rows_of_mini(mini: Bundle) -> None:
    table = Table(mini)
    base = {"action.name": "read", "resource.category": "gespreksverslag", "subject.type": "person",
            "subject.gezag": False, "subject.shielded": False, "consent.self": False}
    young = table.row_at({**base, "subject.relation": "self", "client.age": 11})
    assert young.summary == "deny (no rule allows)" and [e.rule.id for e in young.refusals] == ["shielded"]
    assert not young.permissions
    teen = table.row_at({**base, "subject.relation": "self", "client.age": 12})
    assert teen.summary == "allow, unless refused"
    assert [e.rule.id for e in teen.permissions] == ["self-12-plus"] and teen.permissions[0].always
    parent16 = table.row_at({**base, "subject.relation": "ouder", "subject.gezag": True, "client.age": 16})
    assert parent16.summary == "allow if …"
    assert [e.rule.id for e in parent16.permissions] == ["parent-16-plus-with-consent"]
    # every combination is in exactly one row
    rows = table.rows
    for r in rows:
        assert sum(all(a & b for a, b in zip(r.masks, o.masks)) for o in rows) == 1


@SETTINGS
@given(st.data())
def test_table_equals_evaluator_on_fixtures(data: st.DataObject) -> None:
    for folder in ("tests/fixtures/policies/mini", "tests/fixtures/policies/mini-overlay",
                   "policies/authzen-certification", "policies/bench-reference"):
        bundle = bundle_at(folder) if folder.startswith("tests") else real(folder)
        facts = data.draw(fact_values(bundle))
        _agrees(bundle, _table(folder), facts)
        _agrees(bundle, _flat(folder), facts)


@pytest.mark.parametrize("folder", ["policies/nl-jgz", "policies/nl-jeugdhulp", "policies/duo-plus-uithoorn"])
def test_table_equals_evaluator_on_law_bundles(folder: str) -> None:
    bundle = real(folder)
    table = _table(folder)

    @settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(fact_values(bundle))
    def check(facts: dict) -> None:
        _agrees(bundle, table, facts)

    check()


_tables: dict[str, Table] = {}
_flats: dict[str, FlatTable] = {}


def _table(folder: str) -> Table:
    if folder not in _tables:
        _tables[folder] = Table(bundle_at(folder))
    return _tables[folder]


def _flat(folder: str) -> FlatTable:
    if folder not in _flats:
        _flats[folder] = FlatTable(bundle_at(folder))
    return _flats[folder]


def test_flat_table_of_authzen_fixture(authzen: Bundle) -> None:
    flat = FlatTable(authzen)
    allows = [r for r in flat.regions if r.key.decision]
    assert {r.key.rules for r in allows} == {
        ("fixture.read",), ("fixture.write-admin",), ("fixture.write-own-active",),
        ("fixture.write-own-active", "fixture.write-admin"), ("fixture.soft-delete",)}
    assert len(flat.regions) <= 16


def test_renderings(mini: Bundle) -> None:
    table = Table(mini)
    md = render_markdown(table)
    assert md.startswith("# Decision table: mini@1.0.0")
    assert md.count("\n| ") == len(table.rows) + 1  # header + rows
    assert "`self-12-plus`" in md and "`shielded` if subject.shielded true" in md
    rows = list(csv.DictReader(io.StringIO(render_csv(table))))
    assert len(rows) == len(table.rows)
    assert {"action.name", "client.age", "verdict", "refused_when", "allowed_when"} <= set(rows[0])
    data = table_json(table)
    assert len(data["rows"]) == len(table.rows)
    assert data["rows"][0]["refusals"][0]["rule"] == "shielded"


def test_table_command(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["table", "tests/fixtures/policies/mini"]) == 0
    assert "# Decision table: mini@1.0.0" in capsys.readouterr().out
    out = tmp_path / "t.csv"
    assert main(["table", "tests/fixtures/policies/mini", "--format", "csv", "-o", str(out)]) == 0
    assert out.read_text().startswith("row,action.name")
    assert main(["table", "tests/fixtures/policies/mini", "--flat"]) == 0
    assert main(["table", "no/such/bundle"]) == 2
