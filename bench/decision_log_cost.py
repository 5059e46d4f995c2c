"""What the decision log's durability costs: the same server with the log off, ``write`` and ``fsync``.

    .venv/bin/python -m bench.decision_log_cost             # about 1.5 minutes
    .venv/bin/python -m bench.decision_log_cost --quick     # seconds

For each mode ``poortwachter serve`` (1 worker, pinned to CPU 0) decides the same allowed request of
the mini fixture bundle, driven by wrk (pinned to CPU 1) on loopback: one connection (the latency a
single caller sees), 32 connections (throughput and how group commit amortises fsync) and batches of
50 at 8 connections. Prints a Markdown table of requests/s, p50 and p99 (docs/operations.md quotes it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "fixtures" / "policies" / "mini"
DEV_KEY = ROOT / "keys" / "dev-signing.key"
MODES = {"off": {"POORTWACHTER_DECISION_LOG": "off"},
         "write": {"POORTWACHTER_DECISION_LOG_DURABILITY": "write"},
         "fsync": {"POORTWACHTER_DECISION_LOG_DURABILITY": "fsync"}}


def request(i: int = 0) -> dict[str, object]:
    return {"subject": {"type": "person", "id": f"p-{i}", "properties": {"relation": "ouder", "gezag": True}},
            "action": {"name": "read"},
            "resource": {"type": "dossier_item", "id": f"d-{i}/groei",
                         "properties": {"dossier_type": "jgz", "category": "groei",
                                        "client": {"id": f"c-{i}", "birthdate": "2016-05-30"}}},
            "context": {"time": "2026-11-22T10:00:00+01:00", "purpose": "care"}}


def lua(path: str, body: bytes) -> str:
    return (f'wrk.method = "POST"\nwrk.path = "{path}"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [[{body.decode()}]]\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PIN = True


def pinned(cpu: int, argv: list[str]) -> list[str]:
    if not PIN or not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        return argv
    return ["taskset", "-c", str(cpu), *argv]


def parse_wrk(out: str) -> dict[str, float]:
    def seconds(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = seconds(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = seconds(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": float(bad.group(1)) if bad else 0.0}


def run(duration: int) -> list[tuple[str, str, dict[str, float]]]:
    from poortwachter.artifacts.artifact import build
    from poortwachter.artifacts.folder import load_folder
    from poortwachter.artifacts.keys import load_private

    work = Path(tempfile.mkdtemp(prefix="pw-logcost-"))
    bundles = work / "bundles"
    bundle, _, content = load_folder(MINI)
    build(bundle, content, load_private(DEV_KEY), "dev-signing", "bench", bundles)
    single = work / "single.lua"
    single.write_text(lua("/access/v1/evaluation", orjson.dumps(request())))
    batch = work / "batch.lua"
    batch.write_text(lua("/access/v1/evaluations", orjson.dumps({"evaluations": [request(i) for i in range(50)]})))
    results = []
    for mode, extra in MODES.items():
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("POORTWACHTER_")}
        env.update({"POORTWACHTER_DECISION_LOG": str(work / f"log-{mode}"),
                    "POORTWACHTER_DECISION_LOG_KEY": "bench-pseudonym-key-0123456789abcdef",
                    "POORTWACHTER_DOSSIER_TYPE_BUNDLES": "jgz=mini", "POORTWACHTER_MAX_CLOCK_SKEW": "0", "POORTWACHTER_RELOAD": "off",
                    "POORTWACHTER_LOG_LEVEL": "warning", "POORTWACHTER_CACHE_SIZE": "10000",
                    "POORTWACHTER_TRUST_DEV_KEY": "true", **extra})  # its bundle is signed with the DEV key
        proc = subprocess.Popen(pinned(0, [sys.executable, "-m", "poortwachter.cli", "serve", "--port", str(port),
                                           "--bundles", str(bundles), "--workers", "1"]),
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if urllib.request.urlopen(base + "/readyz", timeout=1).status == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            for label, script, conns in (("single, 1 connection", single, 1), ("single, 32 connections", single, 32),
                                         ("batch of 50, 8 connections", batch, 8)):
                subprocess.run(pinned(1, ["wrk", "-t1", f"-c{conns}", "-d1s", "-s", str(script), base]),
                               capture_output=True, check=True)  # warm-up
                out = subprocess.run(pinned(1, ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "-s",
                                                str(script), base]), capture_output=True, text=True, check=True).stdout
                results.append((mode, label, parse_wrk(out)))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(60)
    shutil.rmtree(work, ignore_errors=True)
    return results


def median_of(runs: list[list[tuple[str, str, dict[str, float]]]]) -> list[tuple[str, str, dict[str, float]]]:
    """Per (mode, load): the median of each figure over the repeats."""
    out = []
    for i, (mode, label, _) in enumerate(runs[0]):
        cells = [run[i][2] for run in runs]
        out.append((mode, label, {k: statistics.median(c[k] for c in cells) for k in cells[0]}))
    return out


def table(results: list[tuple[str, str, dict[str, float]]]) -> str:
    lines = ["| load | decision log | requests/s | p50 | p99 |", "|---|---|---:|---:|---:|"]
    for label in dict.fromkeys(label for _, label, _ in results):
        for mode, lab, r in results:
            if lab == label:
                lines.append(f"| {label} | {mode} | {r['rps']:,.0f} | {r['p50'] * 1e3:.2f} ms | {r['p99'] * 1e3:.2f} ms |"
                             + (f" {r['non2xx']:.0f} non-2xx!" if r["non2xx"] else ""))
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2-second runs")
    p.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    p.add_argument("--no-pin", action="store_true", help="let server and wrk share all cores")
    p.add_argument("--repeats", type=int, default=3, help="runs per mode; the table shows medians")
    args = p.parse_args()
    global PIN
    PIN = not args.no_pin
    if not shutil.which("wrk"):
        print("wrk is needed (apt-get install wrk)", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    runs = [run(2 if args.quick else args.duration) for _ in range(1 if args.quick else args.repeats)]
    print(table(median_of(runs)))
    print(f"\nmedian of {len(runs)} run(s); load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
          f"{os.cpu_count()} cores{', server and wrk pinned to one core each' if PIN else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
