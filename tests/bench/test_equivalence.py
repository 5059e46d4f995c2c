"""bench/equivalence.py, the outcome-by-outcome comparison of two copies of the core, keeps working
(issue 15): it reads every youth-care bundle, mutates requests into errors, and is deterministic."""

from __future__ import annotations

from bench.equivalence import lines


def test_equivalence_lines_are_deterministic_and_reach_errors() -> None:
    first = list(lines(12, 2, 5))
    assert first == list(lines(12, 2, 5))
    assert len({line.split("\t")[0] for line in first}) == 12 * 3  # every request and mutant has outcomes
    assert any("\terror:RequestError|" in line for line in first)
    assert any("\tnl-jgz@" in line and "error:" not in line for line in first)
