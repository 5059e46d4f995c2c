"""Cerbos peer: install the PDP from npm, run it on loopback, ask it over AuthZEN.

Why npm: the Cerbos project publishes its server binary as a registry package
(``@cerbos/cerbos-<os>-<arch>``), so the benchmark installs it with the ordinary client and
needs no download of its own. ``npm install --prefix <cache>`` puts it under
``<cache>/node_modules/@cerbos/cerbos-<os>-<arch>/cerbos-<os>-<arch>``.

Usage::

    with CerbosServer() as cerbos:            # installs if needed, starts, waits for health
        client = AuthZenClient(cerbos.base_url)
        client.evaluate(request)              # POST /access/v1/evaluation -> bool
        client.evaluations(requests)          # POST /access/v1/evaluations -> list[bool]
    # stopped (SIGTERM, then SIGKILL after a grace period)

``python -m bench.peers.cerbos_runner`` installs, starts, prints the URL and stops again;
``python -m bench.peers.cerbos_runner install`` only installs and prints the binary's path.
The cache is ``$POORTWACHTER_BENCH_CACHE`` (default ``~/.cache/poortwachter-bench``).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

CERBOS_VERSION = "0.55.0"
HERE = Path(__file__).resolve().parent / "cerbos"
CONFIG_FILE = HERE / "config.yaml"
POLICY_DIR = HERE / "policies"
DEFAULT_CACHE = Path(os.environ.get("POORTWACHTER_BENCH_CACHE", Path.home() / ".cache" / "poortwachter-bench"))

Request = dict[str, Any]


def npm_package(system: str | None = None, machine: str | None = None) -> str:
    """The npm package holding the Cerbos binary for this OS and CPU, e.g. @cerbos/cerbos-linux-x64."""
    os_name = {"Linux": "linux", "Darwin": "darwin"}.get(system or platform.system())
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        (machine or platform.machine()).lower()
    )
    if os_name is None or arch is None:
        raise RuntimeError(f"no Cerbos npm package for {platform.system()}/{platform.machine()}")
    return f"@cerbos/cerbos-{os_name}-{arch}"


def _binary_path(cache_dir: Path, package: str) -> Path:
    """Where npm puts the binary: the package folder holds one file named like the package."""
    return cache_dir / "node_modules" / package / package.split("/")[1]


def _installed_version(binary: Path) -> str | None:
    """The version the binary reports (first line of ``--version``), or None if it is not there."""
    if not binary.is_file():
        return None
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.split("\n", 1)[0].strip() or None


def install_cerbos(cache_dir: Path | None = None, version: str = CERBOS_VERSION) -> Path:
    """Install Cerbos ``version`` from npm into ``cache_dir`` unless it is already there; return the binary.

    Idempotent: a binary that already reports ``version`` is reused without touching npm.
    """
    cache = Path(cache_dir or DEFAULT_CACHE / f"cerbos-{version}")
    package = npm_package()
    binary = _binary_path(cache, package)
    if _installed_version(binary) == version:
        return binary
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to install Cerbos (apt-get install -y npm)")
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(cache), "--no-save", "--no-audit", "--no-fund",
         "--loglevel=error", f"{package}@{version}"],
        check=True, stdout=sys.stderr,  # keep stdout clean: `install` prints only the binary path
    )
    if _installed_version(binary) != version:
        raise RuntimeError(f"npm installed {package}@{version} but {binary} does not report {version}")
    return binary


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (the OS picks it; tiny race until Cerbos binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CerbosServer:
    """One Cerbos PDP process on loopback with the reference policy and audit to a file.

    ``cpus`` pins the server to those cores (the timing harness needs to say which core ran what);
    ``schema_enforcement`` is ``reject`` by default so Cerbos validates requests, as Poortwachter does.
    """

    binary: Path | None = None
    cpus: set[int] | None = None
    schema_enforcement: str = "reject"
    audit: bool = True
    gomaxprocs: int | None = None  # None: Go's default (the CPUs of the affinity)
    startup_timeout: float = 30.0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cerbos-bench-")))
    http_port: int = 0
    grpc_port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        """Root URL of the HTTP listener (AuthZEN lives under /access/v1/)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def audit_path(self) -> Path:
        """The audit log (JSON lines: one access entry per call, one decision entry per check)."""
        return self.workdir / "audit.log"

    @property
    def log_path(self) -> Path:
        """Cerbos' own stdout/stderr, kept for diagnosing a failed start."""
        return self.workdir / "cerbos.log"

    def _environment(self) -> dict[str, str]:
        """Values for the ${...} placeholders of config.yaml."""
        env = dict(os.environ)
        env.update(
            CERBOS_HTTP_ADDR=f"127.0.0.1:{self.http_port}",
            CERBOS_GRPC_ADDR=f"127.0.0.1:{self.grpc_port}",
            CERBOS_POLICY_DIR=str(POLICY_DIR),
            CERBOS_AUDIT_PATH=str(self.audit_path),
            CERBOS_AUDIT_ENABLED="true" if self.audit else "false",
            CERBOS_SCHEMA_ENFORCEMENT=self.schema_enforcement,
        )
        if self.gomaxprocs:
            env["GOMAXPROCS"] = str(self.gomaxprocs)
        return env

    def start(self) -> Self:
        """Install if needed, start on free loopback ports and wait until /_cerbos/health serves."""
        if self.process is not None:
            raise RuntimeError("Cerbos is already running")
        binary = self.binary or install_cerbos()
        self.http_port = self.http_port or free_port()
        while not self.grpc_port or self.grpc_port == self.http_port:
            self.grpc_port = free_port()
        command = [str(binary), "server", f"--config={CONFIG_FILE}", "--log-level=warn"]
        if self.cpus:  # taskset, not preexec_fn: safe when the caller runs threads
            command = ["taskset", "-c", ",".join(map(str, sorted(self.cpus))), *command]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=self.workdir, env=self._environment(), stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        """Poll the health endpoint; fail fast (with Cerbos' log) if the process dies meanwhile."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"Cerbos exited with {self.process.returncode}:\n{self._log_tail()}")
            if self._healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"Cerbos not healthy after {self.startup_timeout}s:\n{self._log_tail()}")

    def _healthy(self) -> bool:
        """True when GET /_cerbos/health answers SERVING."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=1)
            conn.request("GET", "/_cerbos/health")
            body = conn.getresponse().read()
            conn.close()
        except OSError:
            return False
        return b"SERVING" in body

    def _log_tail(self, lines: int = 20) -> str:
        """Last lines of Cerbos' own log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User + system CPU the server used so far (all threads), from /proc, for CPU-per-run figures."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (Cerbos flushes its audit log), then SIGKILL if it has not exited within ``grace``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def remove_workdir(self) -> None:
        """Delete the work folder (audit log included) once its contents have been checked."""
        if self.process is not None:
            raise RuntimeError("stop Cerbos before removing its work folder")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def check_batch_ids(requests: list[Request]) -> None:
    """Refuse a batch in which two items share (subject.id, resource.type, resource.id).

    Cerbos 0.55 groups such items and decides the whole group with the first item's
    properties, so a batch with shared ids would silently get wrong answers.
    """
    seen: set[tuple[str, str, str]] = set()
    for request in requests:
        key = (request["subject"]["id"], request["resource"]["type"], request["resource"]["id"])
        if key in seen:
            raise ValueError(f"batch items share subject/resource ids {key}; Cerbos would merge them")
        seen.add(key)


class AuthZenClient:
    """A minimal keep-alive AuthZEN client (stdlib only) for cross-checks and sanity figures."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        host_port = base_url.removeprefix("http://").rstrip("/")
        host, _, port = host_port.partition(":")
        self.conn = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON, return the decoded JSON answer; any non-200 is an error, never a deny."""
        self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: HTTP {response.status}: {data[:500]!r}")
        answer: dict[str, Any] = json.loads(data)
        return answer

    def evaluate(self, request: Request) -> bool:
        """One AuthZEN access evaluation."""
        return self._post("/access/v1/evaluation", request)["decision"] is True

    def evaluations(self, requests: list[Request], semantic: str | None = None) -> list[bool]:
        """One AuthZEN batch with full items (no top-level defaults), answers in request order."""
        check_batch_ids(requests)
        body: dict[str, Any] = {"evaluations": requests}
        if semantic:
            body["options"] = {"evaluations_semantic": semantic}
        answers = self._post("/access/v1/evaluations", body)["evaluations"]
        if not semantic and len(answers) != len(requests):
            raise RuntimeError(f"asked {len(requests)} evaluations, got {len(answers)}")
        return [answer["decision"] is True for answer in answers]

    def close(self) -> None:
        """Close the keep-alive connection."""
        self.conn.close()


def main(argv: list[str] | None = None) -> int:
    """``install``: install only and print the binary; otherwise install, start, show discovery, stop."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["install"]:
        print(install_cerbos())
        return 0
    with CerbosServer() as cerbos:
        conn = http.client.HTTPConnection("127.0.0.1", cerbos.http_port, timeout=5)
        conn.request("GET", "/.well-known/authzen-configuration")
        print(f"Cerbos {CERBOS_VERSION} at {cerbos.base_url}: {conn.getresponse().read().decode()}")
        print(f"audit log: {cerbos.audit_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
