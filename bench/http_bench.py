"""HTTP benchmark of the decision service: single decisions and batches of 50 over loopback, against
a bare endpoint on the same server stack as the floor.

    .venv/bin/python bench/http_bench.py [--duration 10] [--connections 16] [--workers 1]

What it does, and why:

- starts the real service (uvicorn with uvloop and httptools, the FastAPI app of ``poortwachter
  serve`` with its middleware) on 127.0.0.1 over the embedded bundles, deciding with nl-jgz;
- adds one route to that same app, ``POST /bench/floor``, which reads the body and returns a
  constant: everything but the decision (HTTP parsing, routing, middleware, response). Its rate
  is the ceiling this server stack allows, so ``decisions/s ÷ floor/s`` says what deciding costs;
- drives it with wrk (a compiled load generator) when installed, else with an asyncio client in
  its own process; server and load generator are pinned to different cores when there are two;
- sends the seeded corpus of bench/corpus.py (the peer benchmark's requests, put into the
  contract's vocabulary for nl-jgz): every request differs, so the decision cache sees the hit
  rate real traffic with repeated facts would give, not 100%;
- batches are 50 evaluations for one subject and one client (an EPD screen): the subject, action
  and context are top-level defaults, the items are dossier items of varied categories.

The decision log is off by default (``--decision-log`` sets it: ``stdout`` or a folder) so the
figure is the decision path; the operator benchmark (bench/decision_log_cost.py) prices the log.
This is a measurement script, not a test: numbers depend on the machine and are printed, not judged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.requests import Request
from starlette.responses import Response

from bench.corpus import generate

BATCH = 50
CATEGORIES = ("personalia", "groei", "vaccinatie", "medisch", "gespreksverslag", "dagrapportage",
              "behandelplan", "onderzoeksrapport", "rapport_derden", "werkaantekening", "administratief")


# ------------------------------------------------------------------------------------------ the app


def bench_app() -> Any:
    """uvicorn factory: the service app (settings from the environment) plus the floor route."""
    from poortwachter.service.app import create_app_from_env
    from poortwachter.service.route_kit import RawRoute

    app = create_app_from_env()

    async def floor(request: Request) -> Response:
        await request.body()
        return Response(b'{"decision":true}', media_type="application/json")

    # dispatched like the decision routes (RawRoute) and matched first, like /access/v1/evaluation
    app.router.routes.insert(0, RawRoute("/bench/floor", floor, methods=["POST"], include_in_schema=False))
    return app


# ------------------------------------------------------------------------------------------ corpus


def _contract(request: dict[str, Any]) -> dict[str, Any]:
    """A corpus request in the contract's vocabulary for nl-jgz (see bench/run.py law_requests)."""
    props = request["subject"]["properties"]
    if props.get("relation") == "professional":
        del props["relation"]
    res = request["resource"]["properties"]
    res["dossier_type"] = "jgz"
    res.pop("client_age", None)
    if res["author"]["kind"] == "client":
        res["author"]["kind"] = "self"
    props.pop("consent_of_client", None)
    return request


def bodies(n: int) -> tuple[list[bytes], list[bytes]]:
    """(single evaluation bodies, batch bodies of BATCH evaluations)."""
    import orjson

    corpus = [_contract(r) for r in generate(n)]
    singles = [orjson.dumps(r) for r in corpus]
    rng = random.Random(4)
    batches = []
    for r in corpus[: max(1, n // 10)]:
        base = r["resource"]
        items = []
        for k in range(BATCH):
            category = rng.choice(CATEGORIES)
            props = {**base["properties"], "category": category,
                     "confidential_from_parents": rng.random() < 0.2}
            items.append({"resource": {"type": "dossier_item", "id": f"{base['id']}/{k}", "properties": props}})
        batches.append(orjson.dumps({"subject": r["subject"], "action": r["action"], "context": r["context"],
                                     "evaluations": items}))
    return singles, batches


# ------------------------------------------------------------------------------------------ server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int, decision_log: str, cpus: str | None) -> subprocess.Popen[bytes]:
    from poortwachter.artifacts import embedded
    from poortwachter.service.settings import SETTINGS_ENV, Settings

    settings = Settings(host="127.0.0.1", port=port, workers=workers, bundles=embedded.bundle_dir(),
                        max_clock_skew=0, reload="off", decision_log=decision_log, log_level="warning")
    env = {**os.environ, SETTINGS_ENV: settings.model_dump_json()}
    command = [sys.executable, "-m", "uvicorn", "bench.http_bench:bench_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning", "--no-server-header"]
    if cpus and shutil.which("taskset"):
        command = ["taskset", "-c", cpus, *command]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
    server.kill()
    raise SystemExit("the server did not become ready in 60 s")


# ------------------------------------------------------------------------------------------ clients


def run_wrk(url: str, body_file: Path, duration: float, connections: int, cpus: str | None) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "-s", str(ROOT / "bench" / "http_wrk.lua"), url]
    if cpus and shutil.which("taskset"):
        command = ["taskset", "-c", cpus, *command]
    out = subprocess.run(command, env={**os.environ, "BODIES": str(body_file)}, capture_output=True, text=True,
                         check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    return result


async def _connection(host: str, port: int, path: str, payloads: list[bytes], stop_at: float,
                      latencies: list[float], counts: list[int], offset: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n".encode()
    i = offset
    try:
        while time.perf_counter() < stop_at:
            body = payloads[i % len(payloads)]
            i += 1
            started = time.perf_counter()
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            counts[0 if status_line.split(b" ", 2)[1].startswith(b"2") else 1] += 1
    finally:
        writer.close()


def _asyncio_client(port: int, path: str, payloads: list[bytes], duration: float, connections: int,
                    cpu: int | None, out: Any) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    latencies: list[float] = []
    counts = [0, 0]

    async def main() -> float:
        started = time.perf_counter()
        stop_at = started + duration
        await asyncio.gather(*(_connection("127.0.0.1", port, path, payloads, stop_at, latencies, counts, k * 97)
                               for k in range(connections)))
        return time.perf_counter() - started

    seconds = asyncio.run(main())
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    out.put({"requests": len(latencies), "seconds": seconds, "rps": len(latencies) / seconds,
             "p50_ms": q[49] * 1000, "p90_ms": q[89] * 1000, "p99_ms": q[98] * 1000,
             "max_ms": max(latencies) * 1000, "non_2xx": counts[1], "socket_errors": 0})


def run_asyncio(port: int, path: str, payloads: list[bytes], duration: float, connections: int,
                cpu: int | None) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_asyncio_client, args=(port, path, payloads, duration, connections, cpu, out))
    proc.start()
    result: dict[str, Any] = out.get(timeout=duration + 120)
    proc.join()
    return result


# ------------------------------------------------------------------------------------------ CPU time


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), 0 when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """CPU seconds of the server and its worker processes so far. Unlike wall-clock throughput this
    does not depend on what else the machine runs, so CPU µs per request compares fairly."""
    total = _cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                total += _cpu_seconds(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


# ------------------------------------------------------------------------------------------ main


def cache_stats(port: int) -> tuple[float, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    hits = misses = 0.0
    for line in text.splitlines():
        if line.startswith("poortwachter_cache") and "_total{" in line:
            value = float(line.rsplit(" ", 1)[1])
            if 'result="hit"' in line:
                hits += value
            elif 'result="miss"' in line:
                misses += value
    return hits, misses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per scenario (after warm-up)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--requests", type=int, default=5000, help="distinct single requests in the corpus")
    p.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    p.add_argument("--decision-log", default="off", help="off | stdout | a folder")
    args = p.parse_args(argv)

    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "asyncio")
    cores = os.cpu_count() or 1
    pin = cores >= 2
    server_cpus = (f"0-{max(0, cores - 2)}" if cores > 2 else "0") if pin else None
    client_cpu = cores - 1 if pin else None

    singles, batches = bodies(args.requests)
    work = Path(tempfile.mkdtemp(prefix="pw-http-bench-"))
    files = {"floor": work / "floor.jsonl", "single": work / "single.jsonl", "batch": work / "batch.jsonl"}
    files["single"].write_bytes(b"\n".join(singles) + b"\n")
    files["batch"].write_bytes(b"\n".join(batches) + b"\n")
    files["floor"].write_bytes(b"\n".join(singles[:200]) + b"\n")  # same bodies, nothing decided
    payloads = {"floor": singles[:200], "single": singles, "batch": batches}
    paths = {"floor": "/bench/floor", "single": "/access/v1/evaluation", "batch": "/access/v1/evaluations"}

    port = free_port()
    print(f"server: uvicorn (uvloop, httptools), {args.workers} worker(s), cpus {server_cpus or 'any'}; "
          f"client: {client}, {args.connections} connections, cpu {client_cpu if pin else 'any'}; "
          f"{args.duration:.0f} s per scenario; decision log {args.decision_log}; bundle nl-jgz; "
          f"{len(singles)} distinct requests, {len(batches)} batches of {BATCH}")
    server = start_server(port, args.workers, args.decision_log, server_cpus)
    results: dict[str, dict[str, Any]] = {}
    try:
        for name in ("floor", "single", "batch"):
            url = f"http://127.0.0.1:{port}{paths[name]}"
            for seconds, keep in ((args.warmup, False), (args.duration, True)):
                cpu_before = server_cpu(server.pid)
                if client == "wrk":
                    r = run_wrk(url, files[name], seconds, args.connections, str(client_cpu) if pin else None)
                else:
                    r = run_asyncio(port, paths[name], payloads[name], seconds, args.connections, client_cpu)
                r["cpu_us"] = (server_cpu(server.pid) - cpu_before) * 1e6 / max(1, r["requests"])
                if keep:
                    results[name] = r
        hits, misses = cache_stats(port) if args.workers == 1 else (0.0, 0.0)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    per = {"floor": 1, "single": 1, "batch": BATCH}
    print(f"\n{'scenario':26} {'requests/s':>11} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
          f"{'server CPU µs/req':>18}")
    labels = {"floor": "floor (bare POST endpoint)", "single": "single evaluation",
              "batch": f"batch of {BATCH} evaluations"}
    for name, r in results.items():
        decisions = "-" if name == "floor" else f"{r['rps'] * per[name]:12.0f}"
        print(f"{labels[name]:26} {r['rps']:11.0f} {decisions:>12} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['non_2xx'] + r['socket_errors']:8d} {r['cpu_us']:18.1f}")
    floor = results["floor"]["rps"]
    single = results["single"]["rps"]
    batch = results["batch"]["rps"] * BATCH
    print(f"\nsingle decisions/s ÷ floor requests/s = {single / floor:.2f}  "
          f"(deciding costs {1e6 / single - 1e6 / floor:.0f} µs per request over the bare stack)")
    print(f"batch decisions/s ÷ floor requests/s  = {batch / floor:.2f}  "
          f"({1e6 / batch:.1f} µs per decision in a batch of {BATCH})")
    cpu = {name: r["cpu_us"] for name, r in results.items()}
    if all(cpu.values()):
        print(f"per CPU core (server CPU time): floor {1e6 / cpu['floor']:.0f} requests/s, single "
              f"{1e6 / cpu['single']:.0f} decisions/s, batch {1e6 * BATCH / cpu['batch']:.0f} decisions/s; "
              f"single ÷ floor = {cpu['floor'] / cpu['single']:.2f}")
    if hits + misses:
        print(f"decision cache: {hits:.0f} hits, {misses:.0f} misses ({100 * hits / (hits + misses):.0f}% hits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
