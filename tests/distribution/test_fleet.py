"""A two-worker ``poortwachter serve`` pulling from a real registry: a new version published under load.

Decisions keep coming over fresh connections (both workers answer) while a new version is published: no
request fails, every decision names one of the two revisions, no worker goes back once it has the new one,
and both workers converge. The time from the start of ``publish`` to the moment from which every worker
decides with the new revision is measured and printed (docs/operations.md quotes it). The DEV key is among
the configured keys: it is refused (the bundles come from a registry), and serve says so once.

The load is counted from the first request on, so a worker that served before it had loaded the first set
(it answered 400 "no bundles loaded", tests/distribution/test_start.py) fails the run. Whether a worker went
back is judged in the order that worker decided (the counter of its decision ids), not the order the answers
arrived: four client threads record an answer only after it arrived, so an old answer decided just before the
switch can be recorded after a new one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx
from support import TLS, free_port, status, wait_until

from poortwachter.artifacts.embedded import key_dir

from .conftest import DENY_ALL, ROOT, Keys, Registry, artifact, yc_request
from .test_pull import publish, revision_of

BIN = Path(sys.executable).parent


class Load:
    """Threads sending decisions over fresh connections; every answer is kept: (time it arrived, status, worker,
    revision, the worker's decision counter)."""

    def __init__(self, port: int, threads: int = 4) -> None:
        self.url = f"http://127.0.0.1:{port}/access/v1/evaluation"
        self.answers: list[tuple[float, int, str, str, int]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                r = httpx.post(self.url, json=yc_request(), headers={"Connection": "close"}, timeout=10, verify=TLS)
                body = r.json() if r.status_code == 200 else {}
                ctx = body.get("context", {})
                worker, _, count = ctx.get("decision_id", "-").partition("-")  # a per-process prefix, a counter
                self.answers.append((time.monotonic(), r.status_code, worker, ctx.get("bundle", {}).get("revision", ""),
                                     int(count, 16) if count else -1))
            except httpx.HTTPError as exc:
                self.answers.append((time.monotonic(), 0, "-", type(exc).__name__, -1))

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)


def stop_server(proc: subprocess.Popen[Any]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _serve(source: str, keys: Path, state: Path, log: Path) -> tuple[subprocess.Popen[Any], int]:
    port = free_port()
    env = {**os.environ, "POORTWACHTER_BUNDLE_SOURCE": source, "POORTWACHTER_STATE_DIR": str(state),
           "POORTWACHTER_KEYS": f"{keys}{os.pathsep}{key_dir()}", "POORTWACHTER_BUNDLE_SOURCE_POLL_INTERVAL": "0.2",
           "POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=svc-jgz", "POORTWACHTER_MAX_CLOCK_SKEW": "0",
           "POORTWACHTER_DECISION_LOG": "off", "POORTWACHTER_LOG_LEVEL": "info"}
    with log.open("wb") as err:  # the server keeps its own copy
        proc = subprocess.Popen([str(BIN / "poortwachter"), "serve", "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    return proc, port


def test_a_new_version_reaches_both_workers_under_load(registry: Registry, prod_keys: Keys, tmp_path: Path) -> None:
    ref = registry.ref("pw/bundles", "prod")
    v1 = artifact(tmp_path, "2026.1.0", prod_keys.private, prod_keys.key_id)
    v2 = artifact(tmp_path, "2026.2.0", prod_keys.private, prod_keys.key_id, rules=DENY_ALL)
    old, new = revision_of(v1), revision_of(v2)
    publish(v1, to=ref)
    proc, port = _serve(ref, prod_keys.folder, tmp_path / "state", tmp_path / "serve.log")
    try:
        assert wait_until(lambda: status(f"http://127.0.0.1:{port}/readyz", timeout=1) == 200, timeout=60), \
            (tmp_path / "serve.log").read_text()
        with Load(port) as load:
            assert wait_until(lambda: len({a[2] for a in load.answers if a[1] == 200}) == 2, timeout=30), \
                "the second worker never answered"
            started = time.monotonic()
            publish(v2, to=ref)
            published = time.monotonic()

            def switched() -> bool:
                recent = [a for a in load.answers if a[0] > published + 0.05]
                last = {w: r for _, _, w, r, _ in recent}
                return len(last) == 2 and all(r == new for r in last.values())

            assert wait_until(switched, timeout=30, interval=0.01), "the workers did not both reach the new revision"
            time.sleep(0.5)  # keep the load on after the switch
        answers = list(load.answers)
    finally:
        stop_server(proc)
    failed = [a for a in answers if a[1] != 200]
    assert not failed, f"{len(failed)} of {len(answers)} requests failed: {failed[:5]}"
    assert {a[3] for a in answers} <= {old, new}, "a decision named neither revision"
    workers: dict[str, list[tuple[int, float, str]]] = {}
    for at, _, worker, revision, count in answers:
        workers.setdefault(worker, []).append((count, at, revision))
    assert len(workers) == 2
    reached = []
    for worker, seen in workers.items():
        seen.sort()  # the order this worker decided in
        first_new = next(count for count, _, r in seen if r == new)
        assert all(r == new for count, _, r in seen if count > first_new), f"worker {worker} went back to the old revision"
        reached.append(min(at for _, at, r in seen if r == new))
    total = max(reached) - started
    print(f"\npublish → both workers deciding with the new revision: {total:.2f} s "
          f"(publish itself {published - started:.2f} s; {len(answers)} decisions, none failed)")
    assert total < 15
    # the DEV key is among the configured keys (and refused): serve says so once, not once per process
    assert (tmp_path / "serve.log").read_text().count("DEV signing key") == 1
