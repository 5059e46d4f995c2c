"""Two (or more) versions of the server side by side on the whole machine, their wrk runs alternated (issue 16).

    .venv/bin/python -m bench.ab src /path/to/worktree-of-the-old-commit/src --rounds 5
    .venv/bin/python -m bench.ab src "src|POORTWACHTER_DECISION_LOG_DURABILITY=write" --rounds 3
    .venv/bin/python -m bench.ab src <old>/src --batch 50 --concurrency 8

Why: on a shared 2-core machine one version's runs vary by a fifth from minute to minute, more than
most changes are worth. Here every version's server is up at once (``bench.run``'s whole-machine
set-up: a worker per core, decision log to a folder, nothing pinned; or with ``--pinned`` its pinned
one: a worker on core 1, wrk on core 0) and each round runs wrk against
each of them in turn, the order reversed every other round, so a drift of the machine hits all alike.
Per run it prints decisions/s, p99, the machine's idle share (``/proc/stat``: idle + iowait over the
run) and the server's CPU per decision; at the end each version's median and, against the first
version, the median of the per-round ratios and how many rounds it won.

A version is a ``src`` folder (it is put first on the server's ``PYTHONPATH``; ``src`` of this checkout
is the installed code), optionally followed by ``|NAME=VALUE;NAME=VALUE`` environment for that server.
``POORTWACHTER_DECISION_LOG`` cannot be set this way (the harness points it at a folder of its own).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench import run
from bench.thread_cpu import Server, bodies

SERVER_CORE, CLIENT_CORE = 1, 0  # --pinned: as bench.run's defaults


def machine_idle() -> tuple[int, int]:
    """(idle + iowait, all) jiffies of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return values[3] + values[4], sum(values)


def paired(base: list[float], other: list[float]) -> tuple[float, float, float, int]:
    """``other`` against ``base`` round by round: (median, min, max of the ratios, rounds ``other`` won).
    On a shared machine the level drifts between rounds more than most changes are worth, and a round's
    two runs are minutes apart at most: the ratios of the pairs carry the comparison, not the medians."""
    ratios = [o / b for b, o in zip(base, other, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios), sum(r > 1 for r in ratios)


def version_env(version: str) -> dict[str, str]:
    """The server environment of ``src[|NAME=VALUE;...]``."""
    src, _, extra = version.partition("|")
    env = dict(kv.split("=", 1) for kv in extra.split(";") if kv)
    if "POORTWACHTER_DECISION_LOG" in env:
        raise SystemExit("POORTWACHTER_DECISION_LOG is the harness's own (a folder per server)")
    env["PYTHONPATH"] = str(Path(src).resolve())
    env.setdefault("POORTWACHTER_TRUST_DEV_KEY", "true")  # another checkout's embedded bundles, dev-signed
    return env


def start(version: str, workdir: Path, pinned: bool) -> Server:
    """A version's server: bench.run's pinned set-up (one worker on the server core) or the whole machine."""
    if pinned:
        return Server(workdir, {SERVER_CORE}, "folder", version_env(version)).start()
    return Server(workdir, None, "folder", version_env(version), workers=os.cpu_count() or 1).start()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("versions", nargs="+", help="src folder[|NAME=VALUE;...]")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--batch", type=int, default=1, help="items per request (1: single evaluations)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--pinned", action="store_true", help="bench.run's pinned set-up: the servers on core 1 "
                   "with one worker each, wrk on core 0 (default: the whole machine)")
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="poortwachter-ab-"))
    script = workdir / "authzen.lua"
    script.write_text(run.WRK_LUA, encoding="utf-8")
    source = bodies(workdir, args.batch)
    path = "/access/v1/evaluation" if args.batch == 1 else "/access/v1/evaluations"
    servers: list[Server] = []
    rates: dict[int, list[float]] = {n: [] for n in range(len(args.versions))}
    try:
        for n, version in enumerate(args.versions):
            (workdir / f"v{n}").mkdir()
            servers.append(start(version, workdir / f"v{n}", args.pinned))
        client = CLIENT_CORE if args.pinned else None
        for server in servers:  # warm-up
            run.run_wrk(server.base_url, source, path, args.concurrency, 2, script, client)
        for r in range(args.rounds):
            order = range(len(servers)) if r % 2 == 0 else reversed(range(len(servers)))
            for n in order:
                server = servers[n]
                assert server.process is not None
                idle0, all0 = machine_idle()
                cpu0 = run.tree_cpu_seconds(server.process.pid)
                summary, _ = run.run_wrk(server.base_url, source, path, args.concurrency, args.seconds, script, client)
                idle1, all1 = machine_idle()
                cpu1 = run.tree_cpu_seconds(server.process.pid)
                decisions = summary["requests"] * args.batch
                rate = decisions / (summary["duration_us"] / 1e6)
                rates[n].append(rate)
                print(f"round {r + 1} {args.versions[n]}: {rate:,.0f} decisions/s, "
                      f"p99 {summary['latency_us']['p99'] / 1000:.2f} ms, errors {summary['errors']['status']}, "
                      f"idle {100 * (idle1 - idle0) / (all1 - all0):.1f} %, "
                      f"CPU {1e6 * (cpu1 - cpu0) / decisions:.0f} µs/decision", flush=True)
    finally:
        for server in servers:
            server.stop()
    for n, version in enumerate(args.versions):
        print(f"{version}: median {statistics.median(rates[n]):,.0f} decisions/s "
              f"({min(rates[n]):,.0f}–{max(rates[n]):,.0f})")
    for n, version in enumerate(args.versions[1:], start=1):
        median, low, high, won = paired(rates[0], rates[n])
        print(f"{version} against {args.versions[0]}, round by round: median ratio {median:.3f} "
              f"({low:.3f}–{high:.3f}), faster in {won} of {len(rates[n])} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
