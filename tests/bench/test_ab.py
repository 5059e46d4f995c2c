"""bench.ab: a version is a src folder with its own server environment; the machine's idle share is read from /proc."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.ab import machine_idle, version_env


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
