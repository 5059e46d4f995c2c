"""Two uvicorn workers (two stores) follow one admin roll-back through the shared state folder."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from .conftest import ADMIN_TOKEN, ROOT, build_artifact, stop_server, yc_request
from .test_store import DENY_ALL, _variant


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, path: str, body: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _revisions(port: int, n: int = 40) -> tuple[set[str], set[str]]:
    """(revisions seen, workers seen) over n fresh connections; the decision id prefix is per process."""
    revisions, workers = set(), set()
    for _ in range(n):
        ctx = _post(port, "/access/v1/evaluation", yc_request())["context"]
        revisions.add(ctx["bundle"]["revision"])
        workers.add(ctx["decision_id"].split("-")[0])
    return revisions, workers


def _until(check: Any, timeout: float = 20) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.3)
    return False


def test_rollback_reaches_every_worker(bundle_dir: Path, tmp_path: Path) -> None:
    port = _port()
    env = {**os.environ, "POORTWACHTER_DEFAULT_BUNDLE": "svc-jgz", "POORTWACHTER_ADMIN_TOKEN": ADMIN_TOKEN,
           "POORTWACHTER_STATE_DIR": str(tmp_path / "state"), "POORTWACHTER_DECISION_LOG": "off",
           "POORTWACHTER_RELOAD": "poll", "POORTWACHTER_POLL_INTERVAL": "0.2"}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "poortwachter"), "serve", "--port", str(port),
                             "--workers", "2", "--bundles", str(bundle_dir)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        assert _until(lambda: _ready(port)), (tmp_path / "serve.log").read_text()
        assert _until(lambda: len(_revisions(port, 20)[1]) == 2), "the second worker never answered"
        original, _ = _revisions(port)
        assert len(original) == 1
        shutil.copy(build_artifact(_variant(tmp_path, rules=DENY_ALL), tmp_path / "bad"),
                    bundle_dir / "svc-jgz-2026.1.0.bundle.json")
        assert _until(lambda: _revisions(port, 20)[0].isdisjoint(original)), "the new artifact did not arrive"
        report = _post(port, "/v1/bundles/svc-jgz/rollback", {}, ADMIN_TOKEN)
        assert report["changed"] == ["svc-jgz"]
        assert _until(lambda: _revisions(port, 20)[0] == original), "a worker did not follow the roll-back"
        seen, workers = _revisions(port)
        assert seen == original and len(workers) == 2
    finally:
        stop_server(proc)


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False
