"""The two central-store benchmarks run (tiny sizes): a benchmark that cannot run reports nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipping_benchmark_runs(pg_dsn: str) -> None:
    from bench.log_ship_bench import run

    rows = run(pg_dsn, 300, [100])
    assert len(rows) == 1 and rows[0][0] == 100 and rows[0][2] > 0 and rows[0][3] > 0


def test_the_query_benchmark_runs(pg_dsn: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.log_query_bench", "--dsn", pg_dsn, "--records", "20000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "store: 20,000 records" in done.stdout and "| parent's question" in done.stdout
