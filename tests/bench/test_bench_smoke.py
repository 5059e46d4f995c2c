"""CI smoke of the benchmark (issue 8): the harness runs end to end in seconds. No timing asserts.

What it proves: Poortwachter, the floor and Cedar decide a 300-request corpus identically; one run
of ``bench.run`` with tiny durations completes (cross-check, in-process figures, and, where wrk is
installed, the HTTP runs against ``poortwachter serve`` and Cerbos) and its report renders. A test
whose peer is not installed runs its other parts, then says what it left out the project's way
(support.unavailable: a skip with the reason on a developer machine, a failure under CI=true, where
.ci/run installs them): cedarpy comes from bench/requirements.txt, Cerbos from npm
(``python -m bench.peers.cerbos_runner install``), wrk from Debian.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import support

from bench import report
from bench import run as bench

HAS_CEDAR = importlib.util.find_spec("cedarpy") is not None
HAS_WRK = shutil.which("wrk") is not None
HAS_SERVICE = importlib.util.find_spec("poortwachter.service") is not None
HTTP = HAS_WRK and HAS_SERVICE


def cerbos_installed() -> bool:
    """The pinned Cerbos binary is in the bench cache (the smoke never runs npm itself)."""
    from bench.peers.cerbos_runner import CERBOS_VERSION, DEFAULT_CACHE, _binary_path, _installed_version, npm_package

    try:
        binary = _binary_path(DEFAULT_CACHE / f"cerbos-{CERBOS_VERSION}", npm_package())
    except RuntimeError:
        return False
    return _installed_version(binary) == CERBOS_VERSION


@pytest.fixture(scope="module")
def catalog() -> Any:
    return bench.load_catalog()


def test_poortwachter_floor_and_cedar_agree_on_300_requests(catalog: Any) -> None:
    requests = bench.generate(300, 8)
    check = bench.crosscheck_inprocess(bench.Config(n=300, cedar=HAS_CEDAR), catalog, requests)
    summary = check.summary()
    assert summary["passed"], summary
    expected = {"poortwachter in-process", "poortwachter evaluate-only"}
    if HAS_CEDAR:
        expected |= {"cedarpy is_authorized", "cedarpy batch of 50", "cedarpy pre-parsed entities"}
    assert set(summary["engines"]) == expected
    assert 0 < sum(check.expected) < len(requests)  # the corpus has allows and denies
    if not HAS_CEDAR:
        support.unavailable("the Python package cedarpy", why="cross-check Cedar (the rest was checked)",
                            install="pip install -r bench/requirements.txt")


def test_real_bundle_requests_are_valid_contract_requests(catalog: Any) -> None:
    """The corpus rewritten for nl-jgz / nl-jeugdhulp parses under the contract's vocabulary."""
    names = [b for b in bench.REAL_BUNDLES if b in catalog.names()]
    if not names:
        pytest.skip("no real bundle artifacts in bundles/ yet")
    from poortwachter.core.decide import decide

    config = bench.Config(n=200)
    for name in names:
        for request in bench.law_corpus(config, name) + bench.law_requests(bench.generate(200, 8), name):
            assert decide(catalog, request, bench.NOW, bench.routing()).bundle.bundle.name == name


def test_one_quick_run_of_the_whole_harness(tmp_path: Path) -> None:
    """Cross-check, in-process and (with wrk) HTTP figures, results files and ratios, in seconds."""
    config = bench.Config(
        n=300, repeats=1, inprocess_seconds=0.02, http_seconds=1, warmup_seconds=1, concurrencies=(8,),
        install=False, cedar=HAS_CEDAR, cerbos=HTTP and cerbos_installed(), http=HTTP, out=tmp_path,
        real_bundles=False,  # their requests are checked above; timing them adds seconds, not coverage
        command="pytest tests/bench",
    )
    code, results = bench.run(config)
    assert code == 0, results.get("crosscheck")
    assert results["crosscheck"]["passed"]
    engines = {(r["engine"], r["mode"]) for r in results["inprocess"]}
    assert ("poortwachter", "full path") in engines and ("floor", "plain Python") in engines
    if HTTP:
        for suffix in ("", "_machine"):  # both set-ups: pinned, and the whole machine with a worker per core
            http = {(r["engine"], r["scenario"]) for r in results[f"http{suffix}"]}
            assert ("poortwachter", "single") in http and ("poortwachter", "batch") in http
            assert all(run["errors"] == 0 and run["load"] >= 0 for row in results[f"http{suffix}"] for run in row["runs"])
            assert all(entry["complete"] for entry in results[f"logs{suffix}"].values()), results[f"logs{suffix}"]
            if config.cerbos:
                assert ("cerbos", "batch") in http
        assert "worker" in results["meta"]["pinning_machine"]["poortwachter server"]

    json_path, md_path = report.write(results, tmp_path)
    stored = json.loads(json_path.read_text(encoding="utf-8"))
    text = md_path.read_text(encoding="utf-8")
    assert "| bench-reference | poortwachter | full path |" in text and "Cross-check" in text
    goals = {r.goal: r for r in report.ratios(stored)}
    in_process = {g[0] for g in report.GOALS[:2]}
    setups = ("pinned", "whole machine") if HTTP else ("pinned",)
    assert set(goals) == in_process | {f"{g[0]}/{s}" for g in report.GOALS[2:] for s in setups}
    if HAS_CEDAR:
        assert goals["inprocess-vs-cedarpy"].value is not None
    report.print_ratios(stored)
    left_out = [what for what, there in (("cedarpy (pip install -r bench/requirements.txt)", HAS_CEDAR),
                                         ("wrk (apt-get install -y wrk)", HAS_WRK),
                                         ("Cerbos (python -m bench.peers.cerbos_runner install)", config.cerbos))
                if not there]
    if left_out:
        support.unavailable(" and ".join(left_out), why="run those peers' parts of the harness (the rest ran)",
                            install="see .ci/run")
