"""Server CPU per decision, thread by thread, over HTTP (issue 16): the event loop apart from the log writer.

    PATH=/opt/benchtools/bin:$PATH .venv/bin/python -m bench.thread_cpu                 # log to a folder (fsync)
    PATH=/opt/benchtools/bin:$PATH .venv/bin/python -m bench.thread_cpu --log off --log stdout --log folder

Why: py-spy's stage profile (``bench.run --profile``) counts samples, and a thread waiting for the GIL
looks much like one that computes. The kernel knows better: it accounts CPU time per thread
(``/proc/<pid>/task/<tid>/stat``, user + system). Set up as ``bench.run``'s pinned HTTP runs (server on
``--server-core`` with 1 worker, wrk on ``--client-core``, the reference corpus): each ``--log`` setting
gets its own server; per scenario a warm-up, then a wrk run with every thread's CPU read before and
after. Settings are interleaved per repeat so a drift of the (shared) machine hits them alike; the
median of the repeats is printed. Extra server environment: ``--env NAME=VALUE`` (e.g.
``POORTWACHTER_DECISION_LOG_DURABILITY=write``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench import run
from bench.corpus import generate

SCENARIOS = (("single", "/access/v1/evaluation", 1, 32), ("batch", "/access/v1/evaluations", 50, 8))


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread id of ``pid`` and its children (a uvicorn worker runs in a child)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in [pid, *map(int, children)]:
        for task in Path(f"/proc/{process}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the thread ended meanwhile
            out[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def bodies(workdir: Path, batch: int) -> Path:
    """The reference corpus as request bodies, one per line (batches of ``batch`` unique items)."""
    path = workdir / f"bodies-{batch}.jsonl"
    if not path.exists():
        requests = generate(10000, 8)
        chunks = ([orjson.dumps(r) for r in requests] if batch == 1 else
                  [orjson.dumps({"evaluations": requests[i:i + batch]}) for i in range(0, len(requests) - batch + 1, batch)])
        path.write_bytes(b"\n".join(chunks) + b"\n")
    return path


class Server(run.PoortwachterServer):
    """``bench.run``'s server with the decision log setting of choice and extra environment."""

    def __init__(self, workdir: Path, cpus: set[int] | None, log: str, env: dict[str, str], workers: int = 1) -> None:
        super().__init__(workdir, cpus, workers)
        self.log, self.env = log, env

    @property
    def log_path(self) -> Path:
        return self.workdir / "decision-log" if self.log == "folder" else Path(self.log)

    def start(self) -> Server:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            super().start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return self


def measure(log: str, args: argparse.Namespace, workdir: Path, script: Path) -> dict[str, Any]:
    """One server: per scenario, decisions/s, p99 and CPU µs per decision of the loop and the other threads."""
    here = Path(tempfile.mkdtemp(dir=workdir))
    os.chdir(here)  # 'off' and 'stdout' are taken as names by the server's settings, not paths
    server = Server(here, {args.server_core}, log, dict(e.split("=", 1) for e in args.env)).start()
    assert server.process is not None
    pid = server.process.pid
    found: dict[str, Any] = {}
    try:
        for name, path, batch, concurrency in SCENARIOS:
            if name not in args.scenarios:
                continue
            source = bodies(workdir, batch)
            run.run_wrk(server.base_url, source, path, concurrency, 2, script, args.client_core)
            before = thread_cpu(pid)
            summary, _ = run.run_wrk(server.base_url, source, path, concurrency, args.seconds, script, args.client_core)
            after = thread_cpu(pid)
            decisions = summary["requests"] * batch
            spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
            loop = max(spent, key=lambda t: spent[t])  # the event loop thread is the busiest
            found[name] = {"decisions/s": decisions / (summary["duration_us"] / 1e6),
                           "loop": spent[loop] / decisions * 1e6,
                           "others": sum(v for t, v in spent.items() if t != loop) / decisions * 1e6,
                           "p99 ms": summary["latency_us"]["p99"] / 1000}
    finally:
        server.stop()
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.thread_cpu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", action="append", help="decision_log setting: folder (default), stdout or off; repeatable")
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server; repeatable")
    p.add_argument("--scenarios", default="single,batch")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--server-core", type=int, default=1)
    p.add_argument("--client-core", type=int, default=0)
    args = p.parse_args(argv)
    logs = args.log or ["folder"]
    workdir = Path(tempfile.mkdtemp(prefix="pw-thread-cpu-"))
    script = workdir / "wrk.lua"
    script.write_text(run.WRK_LUA)
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for log in logs:
            for scenario, row in measure(log, args, workdir, script).items():
                results.setdefault((log, scenario), []).append(row)
    print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")
    print("| log | call | loop thread µs/decision | other threads µs/decision | total | decisions/s | p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (log, scenario), rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        total = statistics.median(r["loop"] + r["others"] for r in rows)
        print(f"| {log} | {scenario} | {med['loop']:.0f} | {med['others']:.0f} | {total:.0f} | "
              f"{med['decisions/s']:,.0f} | {med['p99 ms']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
