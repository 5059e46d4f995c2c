"""`poortwachter serve` for real (uvicorn, uvloop, httptools) on the embedded bundles, and the quick
start of docs/service.md run exactly as written there (only the port is a free one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import support
from support import await_ready, free_port

from poortwachter.artifacts import embedded

from .conftest import ROOT, stop_server

# one real `poortwachter serve` for the module's tests, started on one worker, not on both
pytestmark = pytest.mark.xdist_group("serve-embedded")

DOC = ROOT / "docs" / "service.md"
PYTHON_BIN = Path(sys.executable).parent  # the environment running the tests


def snippet(name: str) -> str:
    match = re.search(rf"<!-- snippet:{name} -->\n```sh\n(.*?)```\n<!-- /snippet -->", DOC.read_text(), re.DOTALL)
    assert match, f"snippet {name} not found in {DOC}"
    return match.group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not list(embedded.bundle_dir().glob("nl-jgz-*.bundle.json")):
        pytest.skip("the embedded nl-jgz bundle is not built (scripts/build-bundles)")
    executable = PYTHON_BIN / "poortwachter"
    if not executable.exists():
        executable = Path(shutil.which("poortwachter") or "poortwachter")
    port = free_port()
    errors = tmp_path_factory.mktemp("serve") / "stderr.txt"
    with errors.open("wb") as err:  # the server keeps its own copy
        proc = subprocess.Popen([str(executable), "serve", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=err, env={**os.environ, "POORTWACHTER_RELOAD": "off"})
    try:
        await_ready(proc, f"http://127.0.0.1:{port}/readyz", errors)
        yield port
    finally:
        stop_server(proc)


def test_the_quick_start_serve_command_is_what_this_test_runs() -> None:
    assert ".venv/bin/poortwachter serve" in snippet("serve")


def test_the_documented_curl_call_works_as_written(server: int) -> None:
    support.require_tool("curl", why="run the documented curl call", install="apt-get install -y curl")
    command = snippet("curl").replace("127.0.0.1:8181", f"127.0.0.1:{server}")
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True).stdout
    answer = json.loads(out)
    assert answer["decision"] is True
    assert answer["context"]["bundle"]["name"] == "nl-jgz"
    assert answer["context"]["reasons"][0]["rule"] == "jgz.inzage.gezag-onder-12"


def test_served_stack_answers_evaluations_discovery_and_headers(server: int) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{server}/access/v1/evaluations", method="POST",
                                 data=json.dumps({"evaluations": []}).encode(),
                                 headers={"Content-Type": "application/json", "X-Request-ID": "serve-1"})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("expected a 400")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
        assert exc.headers["X-Request-ID"] == "serve-1"
        assert exc.headers["Content-Type"] == "application/problem+json"
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/.well-known/authzen-configuration", timeout=5) as r:
        meta = json.loads(r.read())
    assert meta["access_evaluation_endpoint"] == f"http://127.0.0.1:{server}/access/v1/evaluation"
