"""The floor of the HTTP stack (issue 16): what a request costs the server before any decision is made.

    .venv/bin/python -m bench.http_floor                 # every variant, single c=32, 5 s each, 3 repeats
    .venv/bin/python -m bench.http_floor --seconds 3 --repeats 1 --only raw-uvicorn,pw-lean

Every variant's server runs at once, pinned to one core (``--server-core``, default 1; idle while
another is measured), with wrk on the other (``--client-core``, default 0) and the runs interleaved
per repeat, so a drift of a busy machine hits all variants alike; each answers the same AuthZEN
bodies of the reference corpus on
``POST /access/v1/evaluation``. The figure that matters is the server's CPU per request (its process
tree, from /proc): it is what a core can serve, and much less disturbed by a busy machine than
requests per second. Variants:

- ``raw-uvicorn``: a bare ASGI app that reads the body and answers a fixed deny (uvicorn, uvloop,
  httptools: the server's own floor);
- ``raw-granian``: the same app on granian (``pip install granian``; left out when missing);
- ``fastapi``: the same fixed answer from a FastAPI route (the framework's floor);
- ``pw-framework``: Poortwachter as served, but the two decision endpoints through FastAPI's router
  (the lean path removed: what the service cost before issue 16);
- ``pw-lean``: Poortwachter as served (``poortwachter serve``'s settings, decision log to a folder);
- ``pw-granian``: the same app on granian instead of uvicorn (measured only: ``poortwachter serve``
  runs uvicorn, whose protocol class answers unreadable requests with problem documents and bounds
  the time to send headers, service/transport.py).

Results print as a table; ``--json`` writes them too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bench.corpus import generate
from bench.run import REFERENCE, ROOT, WRK_LUA, free_port, run_wrk, tree_cpu_seconds

FIXED = b'{"decision":false}'
PATH = "/access/v1/evaluation"


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: read the whole body, answer a fixed JSON document."""
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"18")]})
    await send({"type": "http.response.body", "body": FIXED})


def fastapi_app() -> Any:
    """The same fixed answer from a FastAPI route that reads the body (the framework alone)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.post(PATH)
    async def evaluation(request: Request) -> Response:
        await request.body()
        return Response(FIXED, media_type="application/json")
    return app


def pw_framework() -> Any:
    """Poortwachter as served, with the lean decision path taken out (the routes answer through FastAPI)."""
    from poortwachter.service.app import create_app_from_env
    from poortwachter.service.lean import LeanAuthZen

    app = create_app_from_env()
    app.user_middleware = [m for m in app.user_middleware if m.cls is not LeanAuthZen]
    return app


def pw_env(workdir: Path) -> dict[str, str]:
    """``bench.run``'s Poortwachter configuration: the reference bundle for ``bench`` dossiers, the
    decision log to a folder with its default durability, reload off."""
    return dict(os.environ, POORTWACHTER_DOSSIER_TYPE_BUNDLES=f"jgz=nl-jgz,jeugdhulp=nl-jeugdhulp,bench={REFERENCE}",
                POORTWACHTER_MAX_CLOCK_SKEW="0", POORTWACHTER_DECISION_LOG=str(workdir / "decision-log"),
                POORTWACHTER_BUNDLES=str(ROOT / "bundles"), POORTWACHTER_RELOAD="off",
                POORTWACHTER_LOG_LEVEL="warning", POORTWACHTER_STATE_DIR=str(workdir / "state"),
                PYTHONPATH=str(ROOT))


def uvicorn_command(target: str, port: int, factory: bool) -> list[str]:
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
               "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    return command + (["--factory"] if factory else [])


def variants(port: int) -> dict[str, list[str]]:
    """The server command of each variant, listening on ``port``."""
    granian = Path(sys.executable).parent / "granian"
    found = {
        "raw-uvicorn": uvicorn_command("bench.http_floor:raw_app", port, False),
        "fastapi": uvicorn_command("bench.http_floor:fastapi_app", port, True),
        "pw-framework": uvicorn_command("bench.http_floor:pw_framework", port, True),
        "pw-lean": uvicorn_command("poortwachter.service.app:create_app_from_env", port, True),
    }
    if granian.exists():
        base = [str(granian), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--runtime-threads", "1", "--no-ws", "--log-level", "warning", "--loop", "uvloop"]
        found["raw-granian"] = [*base, "bench.http_floor:raw_app"]
        found["pw-granian"] = [*base, "--factory", "poortwachter.service.app:create_app_from_env"]
    return found


def ready(port: int, deadline: float) -> bool:
    import http.client

    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST", PATH, orjson.dumps(generate(1, 8)[0]), {"Content-Type": "application/json"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return True
        except OSError:
            time.sleep(0.2)
    return False


def start(name: str, args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """One variant's server on a free port, pinned, ready (answered one decision request)."""
    port = free_port()
    command = variants(port)[name]
    if args.server_core is not None:
        command = ["taskset", "-c", str(args.server_core), *command]
    (workdir / name).mkdir(exist_ok=True)
    log = (workdir / f"{name}.log").open("wb")
    proc = subprocess.Popen(command, env=pw_env(workdir / name), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    log.close()
    if not ready(port, time.monotonic() + 120):
        proc.kill()
        raise RuntimeError(f"{name} did not start: {(workdir / f'{name}.log').read_text()[-2000:]}")
    return proc, port


def one_run(name: str, proc: subprocess.Popen[bytes], port: int, bodies: Path, script: Path,
            args: argparse.Namespace) -> dict[str, float]:
    cpu0 = tree_cpu_seconds(proc.pid)
    load = Path("/proc/loadavg").read_text().split()[0]
    summary, _ = run_wrk(f"http://127.0.0.1:{port}", bodies, PATH, args.concurrency, args.seconds, script,
                         args.client_core)
    cpu = tree_cpu_seconds(proc.pid) - cpu0
    done = summary["requests"]
    run = {"requests_per_s": done / (summary["duration_us"] / 1e6), "cpu_us_per_request": cpu / max(1, done) * 1e6,
           "p99_ms": summary["latency_us"]["p99"] / 1000, "errors": sum(summary["errors"].values()),
           "load": float(load)}
    print(f"  {name:<13} {run['requests_per_s']:>9,.0f} req/s  {run['cpu_us_per_request']:6.1f} µs CPU/request  "
          f"p99 {run['p99_ms']:6.2f} ms  errors {run['errors']}  load {load}", file=sys.stderr, flush=True)
    return run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.http_floor", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--server-core", type=int, default=1)
    p.add_argument("--client-core", type=int, default=0)
    p.add_argument("--only", help="comma-separated variant names")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="pw-floor-"))
    bodies = workdir / "bodies.jsonl"
    bodies.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in generate(2000, 8)))
    script = workdir / "wrk.lua"
    script.write_text(WRK_LUA)
    chosen = list(variants(0))
    if args.only:
        chosen = [k for k in chosen if k in args.only.split(",")]
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    try:
        for name in chosen:  # all up at once (idle while another is measured), runs interleaved per repeat
            servers[name] = start(name, args, workdir)
            run_wrk(f"http://127.0.0.1:{servers[name][1]}", bodies, PATH, args.concurrency, 1.0, script,
                    args.client_core)
        for _ in range(args.repeats):
            for name, (proc, port) in servers.items():
                runs[name].append(one_run(name, proc, port, bodies, script, args))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    results: dict[str, Any] = {
        name: {"runs": r, **{k: statistics.median(x[k] for x in r) for k in ("requests_per_s", "cpu_us_per_request",
                                                                           "p99_ms")}}
        for name, r in runs.items()}
    print("| variant | req/s (median) | server CPU µs/request (median, min–max) | p99 ms | load |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        cpus = [x["cpu_us_per_request"] for x in r["runs"]]
        print(f"| {name} | {r['requests_per_s']:,.0f} | {r['cpu_us_per_request']:.1f} ({min(cpus):.1f}–{max(cpus):.1f}) "
              f"| {r['p99_ms']:.2f} | {', '.join(str(x['load']) for x in r['runs'])} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
