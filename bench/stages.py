"""Where a served decision's CPU goes, by stage (issue 16): py-spy samples of the server under wrk.

    .venv/bin/python -m bench.stages py-spy-raw.txt [--cpu-us 120]   # classify a recording

``bench.run --profile`` records the Poortwachter server with ``py-spy record -f raw`` while wrk runs
single evaluations and batches, and classifies every sample by the innermost frame that names a
stage. Multiplied by the server's CPU per decision of the same run, the shares become microseconds.
A C function (orjson, httptools, uvloop) has no frame of its own in py-spy: its time goes to the
Python frame that called it (``orjson.loads`` in ``body.decode`` is parse, ``orjson.dumps`` in
``json_response`` is render), which is the stage it belongs to.

The decision log's writer thread (serialising records, ``write``, ``fdatasync``) runs beside the event
loop; its samples are their own stage, so the loop's shares add up to 100 % without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: (stage, frame markers): the innermost frame containing a marker decides; earlier rules win within a frame
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("log", ("decision_log.py", "log_sinks.py", "poortwachter/logbook/", "_event (poortwachter/service/decider.py",
             "_error_event (poortwachter/service/decider.py", "_tail (poortwachter/service/decider.py")),
    ("metrics", ("service/metrics.py", "prometheus_client/")),
    ("render", ("json_response (", "poortwachter/core/answer.py", "starlette/responses.py", "problems.py")),
    ("parse", ("service/body.py", "core/request.py", "expand (poortwachter/service/authzen.py",
               "check_work (", "work_of (")),
    ("decide", ("poortwachter/core/", "service/decider.py", "service/cache.py", "service/batch.py",
                "service/store.py")),
    ("framework", ("starlette/", "fastapi/", "service/lean.py", "service/app.py", "service/authzen.py",
                   "service/runtime.py", "service/security.py", "anyio/")),
    ("HTTP server", ("uvicorn/", "httptools", "service/transport.py", "granian")),
    ("event loop", ("asyncio/", "uvloop", "contextvars")),
)
WRITER = "log writer thread"
ORDER = ("HTTP server", "event loop", "framework", "parse", "decide", "render", "log", "metrics", "other")


def classify(stack: str) -> str:
    frames = stack.split(";")
    if any("LogWriter." in f or "OutputSink._drain" in f for f in frames[:6]):
        return WRITER
    for frame in reversed(frames):
        for stage, markers in STAGES:
            if any(m in frame for m in markers):
                return stage
    return "other"


def shares(raw: str) -> tuple[dict[str, float], float]:
    """(share of the event loop thread's samples per stage in %, writer samples as % of the loop's)."""
    counts: dict[str, int] = {}
    for line in raw.splitlines():
        stack, _, n = line.strip().rpartition(" ")
        if not stack or not n.isdigit():
            continue
        if "Condition.wait (threading.py" in stack or "Event.wait (threading.py" in stack:
            continue  # an idle helper thread (writer waiting for work, watchdogs)
        stage = classify(stack)
        counts[stage] = counts.get(stage, 0) + int(n)
    writer = counts.pop(WRITER, 0)
    loop = sum(counts.values())
    if not loop:
        return {}, 0.0
    return {s: 100 * counts.get(s, 0) / loop for s in ORDER if counts.get(s)}, 100 * writer / loop


def table(found: dict[str, tuple[dict[str, float], float, float | None]]) -> list[str]:
    """Markdown: per scenario, each stage's share of the loop's samples and (with the run's server CPU per
    decision, split between the loop and the writer thread by their samples) µs per decision."""
    names = list(found)
    lines = ["| stage | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for stage in ORDER:
        cells = []
        for name in names:
            share, writer, cpu = found[name]
            if stage not in share:
                cells.append("–")
            elif cpu:  # the run's CPU is the loop's and the writer's: the loop has 100 / (100 + writer) of it
                cells.append(f"{share[stage]:.0f} % · {share[stage] * cpu / (100 + writer):.1f} µs")
            else:
                cells.append(f"{share[stage]:.0f} %")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append("| log writer thread (beside the loop; % of the loop's samples) | " + " | ".join(
        f"{w:.0f} %" + (f" · {w * cpu / (100 + w):.1f} µs" if cpu else "")
        for w, cpu in ((found[n][1], found[n][2]) for n in names)) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cpu = float(args[args.index("--cpu-us") + 1]) if "--cpu-us" in args else None
    path = Path(args[0])
    share, writer = shares(path.read_text(errors="replace"))
    print("\n".join(table({path.name: (share, writer, cpu)})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
