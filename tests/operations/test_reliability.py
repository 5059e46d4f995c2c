"""Kill the real server under load: every decision that was answered is in the decision log.

``poortwachter serve`` runs as a subprocess (uvicorn, 1 or 2 workers) on loopback with a decision-log
folder. Concurrent clients send single and batch evaluations; while they do, the server gets SIGTERM
(graceful: uvicorn finishes in-flight requests, the lifespan drains and closes the log) or SIGKILL
(the whole process group, no chance to flush anything). Afterwards every decision id any client
received in a 200 answer must be in the files: the group commit answers only after fsync, so even
SIGKILL loses only records of requests that were never answered.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import TLS, free_port, status, wait_until

from poortwachter.logbook import query as q

LOG_KEY = "reliability-test-pseudonym-key-0123456789"
MIN_ANSWERED = 150  # kill only once this many decisions were answered (machines differ in speed) ...
MAX_LOAD_SECONDS = 15  # ... or after this long


@contextmanager
def server(tmp_path: Path, bundles: Path, workers: int,
           extra_env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POORTWACHTER_", "PROMETHEUS_"))}
    env.update({
        "POORTWACHTER_DECISION_LOG": str(tmp_path / "log"),
        "POORTWACHTER_DECISION_LOG_KEY": LOG_KEY,
        "POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=mini", "POORTWACHTER_MAX_CLOCK_SKEW": "0",
        "POORTWACHTER_RELOAD": "off",
        "POORTWACHTER_LOG_LEVEL": "warning",
        "POORTWACHTER_STATE_DIR": str(tmp_path / "state"),
        "POORTWACHTER_TRUST_DEV_KEY": "true",  # the fixtures are signed with the DEV key
        **(extra_env or {}),
    })
    out = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "poortwachter.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--bundles", str(bundles), "--workers", str(workers)],
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or status(base + "/readyz", timeout=1) == 200, 60)
        if proc.poll() is not None:
            pytest.fail(f"server exited early:\n{(tmp_path / 'server.log').read_text()}")
        if status(base + "/readyz", timeout=1) != 200:
            pytest.fail(f"server not ready:\n{(tmp_path / 'server.log').read_text()}")
        yield proc, base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        out.close()


def request(i: int) -> dict[str, Any]:
    return {
        "subject": {"type": "person", "id": f"p-{i % 7}", "properties": {"relation": "ouder", "gezag": True}},
        "action": {"name": "read"},
        "resource": {"type": "dossier_item", "id": f"d-{i}/groei",
                     "properties": {"dossier_type": "jgz", "category": "groei",
                                    "client": {"id": f"c-{i % 11}", "birthdate": "2016-05-30"}}},
        "context": {"time": "2026-11-22T10:00:00+01:00", "purpose": "care"},
    }


async def load(base: str, stop: asyncio.Event, answered: set[str], stats: dict[str, int], clients: int = 24) -> None:
    async def one(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            i = n * 1_000_000
            while not stop.is_set():
                i += 1
                try:
                    if i % 5 == 0:
                        r = await c.post("/access/v1/evaluations",
                                         json={"evaluations": [request(i * 10 + k) for k in range(10)]})
                        if r.status_code == 200:
                            answered.update(e["context"]["decision_id"] for e in r.json()["evaluations"])
                    else:
                        r = await c.post("/access/v1/evaluation", json=request(i))
                        if r.status_code == 200:
                            answered.add(r.json()["context"]["decision_id"])
                    stats[str(r.status_code)] = stats.get(str(r.status_code), 0) + 1
                except (httpx.HTTPError, ValueError, KeyError):
                    stats["error"] = stats.get("error", 0) + 1
                    await asyncio.sleep(0.01)

    await asyncio.gather(*(one(n) for n in range(clients)))


def run_and_kill(base: str, proc: subprocess.Popen[bytes], sig: signal.Signals) -> tuple[set[str], dict[str, int]]:
    answered: set[str] = set()
    stats: dict[str, int] = {}

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(load(base, stop, answered, stats))
        started = time.monotonic()
        while time.monotonic() - started < MAX_LOAD_SECONDS and (len(answered) < MIN_ANSWERED
                                                                 or time.monotonic() - started < 1):
            await asyncio.sleep(0.05)
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, signal.SIGKILL)  # parent and every worker at once
        else:
            proc.send_signal(signal.SIGTERM)  # what Kubernetes and docker stop send
        await asyncio.sleep(1.0)  # keep the load on while it goes down
        stop.set()
        await task

    asyncio.run(scenario())
    proc.wait(60)
    return answered, stats


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_every_answered_decision_is_in_the_log(tmp_path: Path, mini_bundles: Path, workers: int,
                                               sig: signal.Signals) -> None:
    with server(tmp_path, mini_bundles, workers) as (proc, base):
        answered, stats = run_and_kill(base, proc, sig)
    problems: list[str] = []
    logged = {r["decision_id"] for r in q.read_records(tmp_path / "log", on_problem=problems.append)}
    assert len(answered) >= MIN_ANSWERED, stats  # it really was under load
    missing = answered - logged
    assert not missing, f"{len(missing)} answered decisions not in the log, e.g. {sorted(missing)[:5]}; {stats}"
    reports = q.verify(tmp_path / "log")
    assert all(not r.problems for r in reports), [r.problems for r in reports]
    if sig == signal.SIGTERM:
        assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
        assert all(r.closed for r in reports), "SIGTERM drains and closes every file"
        assert not problems
    print(f"\n{sig.name} workers={workers}: answered {len(answered)}, logged {len(logged)}, "
          f"statuses {stats}, files {len(reports)}")


@pytest.mark.slow
def test_metrics_add_up_across_worker_processes(tmp_path: Path, mini_bundles: Path) -> None:
    """Two workers, one /metrics: the decision counter equals the decisions made by both, single and in
    batches (tallied per call into the shared files); the separate metrics listener (metrics_address,
    served by the parent process) reports the same."""
    exporter = f"127.0.0.1:{free_port()}"
    with server(tmp_path, mini_bundles, 2, {"POORTWACHTER_METRICS_ADDRESS": exporter}) as (proc, base):
        n = 0
        for i in range(200):  # a fresh connection each time, so the kernel spreads them over the workers
            r = httpx.post(base + "/access/v1/evaluation", json=request(i), timeout=10, verify=TLS)
            assert r.status_code == 200
            n += 1
        for i in range(4):  # batches: their metrics are tallied and added when each call is done
            r = httpx.post(base + "/access/v1/evaluations", json={"evaluations": [request(i)] * 10}, timeout=10,
                           verify=TLS)
            assert r.status_code == 200 and len(r.json()["evaluations"]) == 10
            n += 10
        text = ""
        for url in (base + "/metrics",) * 3 + (f"http://{exporter}/metrics",):  # any worker, then the parent
            text = httpx.get(url, timeout=10, verify=TLS).text
            total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                        if line.startswith("poortwachter_decisions_total{"))
            assert total == n
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    by_pid: dict[str, int] = {}
    for f in q.log_files(tmp_path / "log"):
        records = sum(1 for line in f.read_bytes().splitlines() if b'"event"' not in line)
        if records:
            by_pid[f.name.rsplit("-p", 1)[1]] = records
    assert sum(by_pid.values()) == n
    assert len(by_pid) == 2, f"both workers should have served: {by_pid}"
    assert 'poortwachter_bundles_active 1.0' in text or 'poortwachter_bundles_active{' in text
