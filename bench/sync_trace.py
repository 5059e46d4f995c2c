"""Where a group commit's ``fdatasync`` spends its time under the served load (issue 16): the kernel's view.

    sudo .venv/bin/python -m bench.sync_trace                  # whole machine, single c=32, 2 s traced
    sudo .venv/bin/python -m bench.sync_trace --seconds 3 --env POORTWACHTER_DECISION_LOG_DURABILITY=fsync

Why: timed from Python, an ``fdatasync`` includes taking the GIL back, and the call itself cannot tell
the disk from the scheduler. Linux's tracefs can: this starts ``bench.run``'s whole-machine server (a
worker per core, decision log to a folder), loads it with wrk (single evaluations, 32 connections),
and for ``--seconds`` in the middle of the run records the writer threads' ``fdatasync`` entries and
exits and every ``sched_switch``/``sched_wakeup``. Each call is then split into

- **blocked**: off the CPU waiting (the data write, the journal commit, the device flush);
- **waiting for a core**: woken, runnable, not yet running (the scheduler);
- **on a core**: the kernel's own work for the call;

with the number of times the call blocked. Needs root (tracefs at /sys/kernel/tracing) and wrk.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import run
from bench.thread_cpu import Server, bodies

TRACING = Path("/sys/kernel/tracing")
EVENTS = ("syscalls/sys_enter_fdatasync", "syscalls/sys_exit_fdatasync", "sched/sched_switch", "sched/sched_wakeup")
LINE = re.compile(r"^\s*.+?-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): ([a-z_]+):? ?(.*)$")


def _set(name: str, value: str) -> None:
    (TRACING / name).write_text(value)


def trace(seconds: float) -> list[str]:
    """The trace of ``seconds``, with the events above (the buffer cleared before, the events off after)."""
    _set("tracing_on", "0")
    _set("trace", "")
    _set("buffer_size_kb", "20000")
    for event in EVENTS:
        _set(f"events/{event}/enable", "1")
    try:
        _set("tracing_on", "1")
        time.sleep(seconds)
        _set("tracing_on", "0")
        return (TRACING / "trace").read_text().splitlines()
    finally:
        for event in EVENTS:
            _set(f"events/{event}/enable", "0")
        _set("trace", "")


def split_calls(lines: Iterable[str]) -> dict[str, list[float]]:
    """Per ``fdatasync`` call of any thread: total, blocked, waiting for a core, on a core (seconds), blocks."""
    calls: dict[str, list[float]] = defaultdict(list)
    open_calls: dict[int, dict[str, Any]] = {}  # thread id → the call in progress

    def end_state(call: dict[str, Any], t: float) -> None:
        call[call["state"]] += t - call["since"]
        call["since"] = t

    for line in lines:
        m = LINE.match(line)
        if m is None:
            continue
        pid, t, name, rest = int(m[1]), float(m[2]), m[3], m[4]
        if name == "sys_fdatasync":
            if rest.startswith("(fd"):
                open_calls[pid] = {"start": t, "since": t, "state": "oncpu", "oncpu": 0.0, "blocked": 0.0,
                                   "runnable": 0.0, "blocks": 0}
            elif (call := open_calls.pop(pid, None)) is not None:
                end_state(call, t)
                for key in ("oncpu", "blocked", "runnable"):
                    calls[key].append(call[key])
                calls["total"].append(t - call["start"])
                calls["blocks"].append(call["blocks"])
        elif name == "sched_switch":
            prev = re.search(r"prev_pid=(\d+) .*prev_state=(\S+)", rest)
            if prev and (call := open_calls.get(int(prev[1]))) is not None:
                end_state(call, t)
                blocked = prev[2].startswith(("D", "S"))
                call["state"] = "blocked" if blocked else "runnable"
                call["blocks"] += blocked
            nxt = re.search(r"next_pid=(\d+)", rest)
            if nxt and (call := open_calls.get(int(nxt[1]))) is not None:
                end_state(call, t)
                call["state"] = "oncpu"
        elif name == "sched_wakeup":
            woken = re.search(r"pid=(\d+)", rest)
            if woken and (call := open_calls.get(int(woken[1]))) is not None and call["state"] == "blocked":
                end_state(call, t)
                call["state"] = "runnable"
    return calls


def report(calls: dict[str, list[float]]) -> str:
    rows = [("the whole call", "total"), ("blocked (disk, journal)", "blocked"),
            ("waiting for a core", "runnable"), ("on a core", "oncpu")]
    out = [f"{len(calls['total'])} fdatasync calls traced",
           "| part | p50 ms | mean ms | p90 ms |", "|---|---:|---:|---:|"]
    for label, key in rows:
        values = sorted(calls[key])
        out.append(f"| {label} | {values[len(values) // 2] * 1e3:.3f} | {statistics.fmean(values) * 1e3:.3f} | "
                   f"{values[int(0.9 * len(values))] * 1e3:.3f} |")
    out.append(f"blocks per call: median {statistics.median(calls['blocks']):g}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sync_trace", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=2.0, help="traced seconds, in the middle of the load")
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server; repeatable")
    args = p.parse_args(argv)
    if not (TRACING / "trace").exists() or not os.access(TRACING / "trace", os.W_OK):
        p.error(f"{TRACING} is not writable here: run as root on Linux with tracefs mounted")
    workdir = Path(tempfile.mkdtemp(prefix="poortwachter-sync-trace-"))
    script = workdir / "authzen.lua"
    script.write_text(run.WRK_LUA, encoding="utf-8")
    # the whole machine: a worker per core, nothing pinned
    server = Server(workdir, None, "folder", dict(e.split("=", 1) for e in args.env), workers=os.cpu_count() or 1)
    server.start()
    lines: list[str] = []
    try:
        source = bodies(workdir, 1)
        run.run_wrk(server.base_url, source, "/access/v1/evaluation", 32, 2, script, None)  # warm-up
        tracer = threading.Timer(2.0, lambda: lines.extend(trace(args.seconds)))
        tracer.start()
        summary, _ = run.run_wrk(server.base_url, source, "/access/v1/evaluation", 32, args.seconds + 4, script, None)
        tracer.join()
    finally:
        server.stop()
    print(f"single c=32, whole machine: {summary['requests'] / (summary['duration_us'] / 1e6):,.0f} decisions/s")
    calls = split_calls(lines)
    if not calls["total"]:
        print("no fdatasync was traced (durability 'write', or the log is not a folder)")
        return 1
    print(report(calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
