"""bench.ab: a version is a src folder with its own server environment; the machine's idle share is read from /proc."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.ab import machine_idle, paired, version_env


def test_a_version_names_its_source_and_environment(tmp_path: Path) -> None:
    env = version_env(f"{tmp_path}|POORTWACHTER_DECISION_LOG_DURABILITY=write;A=b=c")
    assert env == {"POORTWACHTER_DECISION_LOG_DURABILITY": "write", "A": "b=c", "PYTHONPATH": str(tmp_path),
                   "POORTWACHTER_TRUST_DEV_KEY": "true"}


def test_the_decision_log_setting_stays_the_harness_own(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        version_env(f"{tmp_path}|POORTWACHTER_DECISION_LOG=off")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_idle_is_part_of_all_time() -> None:
    idle, total = machine_idle()
    assert 0 <= idle <= total and total > 0


def test_versions_are_compared_round_by_round() -> None:
    """A drift that hits both versions of a round alike leaves their ratio alone."""
    base, other = [100.0, 200.0, 50.0], [110.0, 210.0, 45.0]
    median, low, high, won = paired(base, other)
    assert (median, low, high, won) == (pytest.approx(1.05), pytest.approx(0.9), pytest.approx(1.1), 2)
    with pytest.raises(ValueError):
        paired(base, other[:2])
