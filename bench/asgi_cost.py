"""CPU per request of the ASGI app alone, in-process (issue 16): no sockets, no HTTP parser, no wrk.

    .venv/bin/python -m bench.asgi_cost                   # lean vs framework path, single and batch of 50
    .venv/bin/python -m bench.asgi_cost --repeats 7 --requests 4000

Why: on a shared 2-core machine a wrk run measures the scheduler as much as the server. Here the
app (Poortwachter as served: decision log to a folder with its default durability, metrics on) is
called the way uvicorn calls it — ``app(scope, receive, send)`` from a uvloop event loop with 32
requests in flight — and the event loop thread's own CPU time (``time.thread_time``) is divided by
the requests answered. The minimum over repeats is reported: other processes can only add to it.
Variants are interleaved per repeat, so a drift of the machine hits them alike. The other threads'
CPU (the decision log writer: serialising, hashing, pseudonymising, ``fdatasync``) is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.corpus import generate
from bench.run import REFERENCE, ROOT

SINGLE = "/access/v1/evaluation"
BATCH = "/access/v1/evaluations"


def make_app(workdir: Path, lean: bool = True, log: str = "folder") -> Any:
    """The served app (``create_app``) with bench.run's settings; ``lean=False`` takes the lean path out."""
    from poortwachter.service.app import create_app, tune_process
    from poortwachter.service.lean import LeanAuthZen
    from poortwachter.service.settings import Settings

    target = str(workdir / "decision-log") if log == "folder" else log
    settings = Settings(bundles=ROOT / "bundles", reload="off", max_clock_skew=0, decision_log=target,
                        state_dir=workdir / "state",
                        dossier_type_bundles={"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp", "bench": REFERENCE})
    app = create_app(settings)
    tune_process(app.state.service)  # as a server process is (GC thresholds, heap freeze, switch interval)
    if not lean:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not LeanAuthZen]
    return app


def scope_of(path: str, body: bytes) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "server": ("127.0.0.1", 8181), "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"127.0.0.1:8181"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]}


async def drive(app: Any, path: str, bodies: list[bytes], count: int, concurrency: int) -> tuple[float, float, int]:
    """Answer ``count`` requests, ``concurrency`` in flight: (loop-thread CPU seconds, the other threads'
    CPU seconds (the decision log writer), non-200 answers)."""
    statuses: list[int] = []
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            body = bodies[i % len(bodies)]
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    await asyncio.sleep(3600)
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])
            await app(scope_of(path, body), receive, send)

    started, process = time.thread_time(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    loop_cpu = time.thread_time() - started
    return loop_cpu, time.process_time() - process - loop_cpu, sum(s != 200 for s in statuses)


def one(variant: str, kind: str, n: int, concurrency: int) -> None:
    """Start the app, warm it up, answer ``n`` calls and stop: the unit that callgrind counts."""
    import uvloop

    corpus = generate(2000, 8)
    bodies = ([orjson.dumps(r) for r in corpus] if kind == "single"
              else [orjson.dumps({"evaluations": corpus[i:i + 50]}) for i in range(0, 2000, 50)])
    path = SINGLE if kind == "single" else BATCH
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app = make_app(Path(tempfile.mkdtemp(prefix="pw-asgi-")), lean=variant != "framework")
    ctx = app.router.lifespan_context(app)
    loop.run_until_complete(ctx.__aenter__())
    loop.run_until_complete(drive(app, path, bodies, 100 if kind == "single" else 10, concurrency))
    if n:
        loop.run_until_complete(drive(app, path, bodies, n, concurrency))
    loop.run_until_complete(ctx.__aexit__(None, None, None))


def instructions(variant: str, kind: str, n: int, concurrency: int) -> int:
    """Instructions (callgrind's Ir, all threads) of one :func:`one` run."""
    import subprocess

    out = Path(tempfile.mkdtemp(prefix="pw-cg-")) / "callgrind.out"
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
                    "bench.asgi_cost", "--one", variant, "--kind", kind, "--n", str(n),
                    "--concurrency", str(concurrency)], check=True, capture_output=True, cwd=ROOT)
    summary = next(line for line in out.read_text().splitlines() if line.startswith(("summary:", "totals:")))
    return int(summary.split()[1])


def count(variants: list[str], concurrency: int, n: int) -> None:
    """Instructions per decision by difference (a run of ``n`` calls minus a run of none: start-up,
    bundle loading and warm-up cancel out)."""
    print("| variant | call | instructions per decision |")
    print("|---|---|---:|")
    for variant in variants:
        for kind, calls, per in (("single", n, 1), ("batch50", max(1, n // 25), 50)):
            base = instructions(variant, kind, 0, concurrency if kind == "single" else 8)
            full = instructions(variant, kind, calls, concurrency if kind == "single" else 8)
            print(f"| {variant} | {kind} | {(full - base) / (calls * per):,.0f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.asgi_cost", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=3000, help="single requests per repeat (batches: a tenth)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--variants", default="lean,framework")
    p.add_argument("--callgrind", action="store_true", help="count instructions instead (valgrind; load-proof)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="single", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        one(args.one, args.kind, args.n, args.concurrency)
        return 0
    if args.callgrind:
        count(args.variants.split(","), args.concurrency, min(args.requests, 500))
        return 0
    import uvloop

    corpus = generate(2000, 8)
    singles = [orjson.dumps(r) for r in corpus]
    batches = [orjson.dumps({"evaluations": corpus[i:i + 50]}) for i in range(0, 2000, 50)]
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    apps: dict[str, Any] = {}
    contexts = []
    for name in args.variants.split(","):
        app = make_app(Path(tempfile.mkdtemp(prefix=f"pw-asgi-{name}-")), lean=name != "framework")
        ctx = app.router.lifespan_context(app)
        loop.run_until_complete(ctx.__aenter__())
        contexts.append(ctx)
        apps[name] = app
    results: dict[tuple[str, str], list[float]] = {}
    for app in apps.values():  # warm-up
        loop.run_until_complete(drive(app, SINGLE, singles, 500, args.concurrency))
        loop.run_until_complete(drive(app, BATCH, batches, 50, 8))
    for repeat in range(args.repeats):
        for name, app in apps.items():
            for kind, path, bodies, n, c, per in (("single", SINGLE, singles, args.requests, args.concurrency, 1),
                                                  ("batch50", BATCH, batches, max(1, args.requests // 10), 8, 50)):
                cpu, others, bad = loop.run_until_complete(drive(app, path, bodies, n, c))
                us = cpu / (n * per) * 1e6
                results.setdefault((name, kind), []).append(us)
                print(f"  {repeat + 1}/{args.repeats} {name:<10} {kind:<8} loop {us:6.2f} µs/decision  "
                      f"writer {others / (n * per) * 1e6:5.2f} µs/decision  non-200 {bad}",
                      file=sys.stderr, flush=True)
    for ctx in contexts:
        loop.run_until_complete(ctx.__aexit__(None, None, None))
    print("| variant | call | loop-thread CPU µs per decision (min; median) |")
    print("|---|---|---:|")
    for (name, kind), values in results.items():
        print(f"| {name} | {kind} | {min(values):.2f}; {sorted(values)[len(values) // 2]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
