"""Results of a benchmark run → JSON, a Markdown table, and the ratios against the peers.

The results document (``bench/results/latest.json``) is what ``bench.run`` measured; everything
here only reads it, so a report can be rendered again from a stored JSON:

    .venv/bin/python -m bench.report bench/results/latest.json

Every figure is the median of the runs with the min–max next to it; ratios compare medians of the
same run (never figures from different runs or machines).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Result = dict[str, Any]

#: the goals: in-process (issue 8), over HTTP in each set-up (issue 16): (id, text, kind, target)
GOALS: tuple[tuple[str, str, str, float], ...] = (
    ("inprocess-vs-cedarpy", "in-process, reference bundle: Poortwachter full path vs cedarpy is_authorized",
     "at_least", 5.0),
    ("real-bundles-p99", "in-process, real bundles: p99 of the full path", "below_us", 30.0),
    ("http-single-c32", "HTTP single evaluation, c=32: Poortwachter vs Cerbos decisions/s", "at_least", 2.0),
    ("http-single-c32-p99", "HTTP single evaluation, c=32: Poortwachter p99 / Cerbos p99", "below_ratio", 1.0),
    ("http-batch50", "HTTP batch of 50: Poortwachter vs Cerbos decisions/s", "at_least", 3.0),
    ("decision-log", "every decision in the decision log / audit, nothing lost", "holds", 1.0),
    ("http-real-single", "HTTP single, c=32: Poortwachter's real bundles (the slower) vs Cerbos on the reference "
     "rules, decisions/s", "at_least", 1.0),
)
#: the HTTP set-ups of bench.run: results key suffix → name
SETUPS = {"": "pinned", "_machine": "whole machine"}


def summarize(runs: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per numeric key of the runs: median, min and max."""
    keys = [k for k in runs[0] if isinstance(runs[0][k], int | float) and not isinstance(runs[0][k], bool)]
    return {k: {"median": statistics.median(r[k] for r in runs), "min": min(r[k] for r in runs),
                "max": max(r[k] for r in runs)} for k in keys}


def _num(value: float, digits: int = 0) -> str:
    if value >= 100 or digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def cell(stat: dict[str, float] | None, digits: int = 0) -> str:
    """``median (min–max)``, or a dash when the figure was not measured."""
    if not stat:
        return "–"
    return f"{_num(stat['median'], digits)} ({_num(stat['min'], digits)}–{_num(stat['max'], digits)})"


def _stat(row: Result, key: str) -> dict[str, float] | None:
    found: dict[str, float] | None = row.get("summary", {}).get(key)
    return found


@dataclass(frozen=True)
class Ratio:
    """One goal: the measured value (ratio or latency), the target and whether it is met."""

    goal: str
    text: str
    value: float | None
    target: float
    kind: str
    met: bool | None
    detail: str

    def line(self) -> str:
        if self.value is None:
            return f"  [ -- ] {self.text}: not measured ({self.detail})"
        unit = {"at_least": "×", "below_us": " µs", "below_ms": " ms", "below_ratio": "×", "holds": ""}[self.kind]
        op = {"at_least": "≥", "below_us": "<", "below_ms": "<", "below_ratio": "<", "holds": ""}[self.kind]
        shown = ("yes" if self.met else "no") if self.kind == "holds" else f"{self.value:,.2f}{unit} (goal {op} {self.target:g}{unit})"
        return f"  [{'MET ' if self.met else 'MISS'}] {self.text}: {shown}; {self.detail}"


def find(rows: Iterable[Result], **match: Any) -> Result | None:
    """The first row whose fields equal ``match``."""
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _median(row: Result | None, key: str) -> float | None:
    stat = _stat(row, key) if row else None
    return stat["median"] if stat else None


def ratios(results: Result) -> list[Ratio]:
    """The goals (issue 8 in-process, issue 16 over HTTP per set-up), each from this run's medians."""
    inproc = results.get("inprocess", [])
    out: list[Ratio] = []
    pw = find(inproc, bundle="bench-reference", engine="poortwachter", mode="full path")
    cedar = find(inproc, bundle="bench-reference", engine="cedarpy", mode="is_authorized")
    a, b = _median(pw, "decisions_per_s"), _median(cedar, "decisions_per_s")
    ca, cb = _median(pw, "decisions_per_cpu_s"), _median(cedar, "decisions_per_cpu_s")
    per_cpu = f"; per CPU second {ca / cb:.2f}×" if ca and cb else ""
    out.append(_ratio(GOALS[0], a, b, f"{_num(a or 0)} vs {_num(b or 0)} decisions/s{per_cpu}"))

    law = [r for r in inproc if r.get("engine") == "poortwachter" and r.get("mode") == "full path"
           and r.get("bundle") not in ("bench-reference", None)]
    if law:
        worst = max(law, key=lambda r: _median(r, "p99_us") or 0.0)
        p99 = _median(worst, "p99_us")
        only = {r["bundle"]: _median(r, "p99_us") for r in inproc if r.get("engine") == "poortwachter"
                and r.get("mode") == "evaluate only" and r.get("bundle") != "bench-reference"}
        detail = ", ".join(f"{r['bundle']} p99 {_num(_median(r, 'p99_us') or 0, 1)} µs (evaluate only "
                           f"{_num(only.get(r['bundle']) or 0, 1)} µs)" for r in law)
        out.append(Ratio(GOALS[1][0], GOALS[1][1], p99, GOALS[1][3], GOALS[1][2],
                         p99 is not None and p99 < GOALS[1][3], detail))
    else:
        out.append(Ratio(GOALS[1][0], GOALS[1][1], None, GOALS[1][3], GOALS[1][2], None,
                         "no real bundle artifacts in bundles/"))

    for suffix, name in SETUPS.items():
        if f"http{suffix}" in results or not suffix:
            out += _http_ratios(results.get(f"http{suffix}", []), results.get(f"logs{suffix}", {}), name)
    return out


def _named(goal: tuple[str, str, str, float], setup: str) -> tuple[str, str, str, float]:
    return (f"{goal[0]}/{setup}", f"{setup}: {goal[1]}", goal[2], goal[3])


def _http_ratios(http: list[Result], logs: dict[str, Any], setup: str) -> list[Ratio]:
    """Issue 16's goals in one HTTP set-up, from its medians."""
    out: list[Ratio] = []
    ref_single = {"scenario": "single", "bundle": "bench-reference", "concurrency": 32}
    for goal, match in ((GOALS[2], ref_single), (GOALS[4], {"scenario": "batch", "bundle": "bench-reference"})):
        mine, peer = find(http, engine="poortwachter", **match), find(http, engine="cerbos", **match)
        a, b = _median(mine, "decisions_per_s"), _median(peer, "decisions_per_s")
        ca, cb = _median(mine, "server_cpu_us_per_decision"), _median(peer, "server_cpu_us_per_decision")
        cpu = f"; server CPU per decision {ca:,.0f} vs {cb:,.0f} µs" if ca and cb else ""
        out.append(_ratio(_named(goal, setup), a, b, f"{_num(a or 0)} vs {_num(b or 0)} decisions/s{cpu}"))
        if match is ref_single:
            p99, peer_p99 = _median(mine, "p99_ms"), _median(peer, "p99_ms")
            g = _named(GOALS[3], setup)
            if p99 is None or not peer_p99:
                out.append(Ratio(g[0], g[1], None, g[3], g[2], None, "a side was not measured"))
            else:
                out.append(Ratio(g[0], g[1], p99 / peer_p99, g[3], g[2], p99 < peer_p99,
                                 f"{p99:.2f} vs {peer_p99:.2f} ms"))
    law = [r for r in http if r.get("engine") == "poortwachter" and r.get("scenario") == "single"
           and r.get("bundle") != "bench-reference"]
    peer = find(http, engine="cerbos", **ref_single)
    g = _named(GOALS[6], setup)
    if law and peer:
        slow = min(law, key=lambda r: _median(r, "decisions_per_s") or 0.0)
        a, b = _median(slow, "decisions_per_s"), _median(peer, "decisions_per_s")
        detail = ", ".join(f"{r['bundle']} {_num(_median(r, 'decisions_per_s') or 0)}/s (p99 "
                           f"{_num(_median(r, 'p99_ms') or 0, 2)} ms)" for r in law)
        out.append(_ratio(g, a, b, f"{detail} vs Cerbos {_num(b or 0)}/s"))
    else:
        out.append(Ratio(g[0], g[1], None, g[3], g[2], None, "real bundles or Cerbos not measured"))
    g = _named(GOALS[5], setup)
    if logs:
        holds = all(entry.get("complete") for entry in logs.values())
        detail = "; ".join(f"{name}: {entry.get('detail', '')}" for name, entry in logs.items())
        out.append(Ratio(g[0], g[1], 1.0 if holds else 0.0, 1.0, "holds", holds, detail))
    else:
        out.append(Ratio(g[0], g[1], None, 1.0, "holds", None, "no HTTP runs"))
    return out


def _ratio(goal: tuple[str, str, str, float], mine: float | None, peer: float | None, detail: str) -> Ratio:
    """``mine / peer`` against an at-least goal."""
    if mine is None or peer is None or peer == 0:
        return Ratio(goal[0], goal[1], None, goal[3], goal[2], None, "a side was not measured")
    value = mine / peer
    return Ratio(goal[0], goal[1], value, goal[3], goal[2], value >= goal[3], detail)


# ---------------------------------------------------------------------------------------------
# Markdown


def _inprocess_table(rows: list[Result]) -> list[str]:
    lines = [
        "| bundle | engine | what is timed | decisions/s | p50 µs | p99 µs | decisions per CPU s |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['bundle']} | {r['engine']} | {r['mode']} | {cell(_stat(r, 'decisions_per_s'))} | "
                     f"{cell(_stat(r, 'p50_us'), 1)} | {cell(_stat(r, 'p99_us'), 1)} | "
                     f"{cell(_stat(r, 'decisions_per_cpu_s'))} |")
    return lines


def _http_table(rows: list[Result]) -> list[str]:
    lines = [
        "| bundle | engine | call | c | decisions/s | HTTP req/s | p50 ms | p99 ms | server CPU s | server CPU µs/decision "
        "| wrk CPU s | errors | load |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        call = "single" if r["scenario"] == "single" else f"batch of {r['batch']}"
        errors = int(sum(run.get("errors", 0) for run in r.get("runs", [])))
        load = " ".join(f"{run['load']:.1f}" for run in r.get("runs", []) if "load" in run) or "–"
        lines.append(
            f"| {r['bundle']} | {r['engine']} | {call} | {r['concurrency']} | "
            f"{cell(_stat(r, 'decisions_per_s'))} | {cell(_stat(r, 'requests_per_s'))} | "
            f"{cell(_stat(r, 'p50_ms'), 2)} | {cell(_stat(r, 'p99_ms'), 2)} | "
            f"{cell(_stat(r, 'server_cpu_s'), 1)} | {cell(_stat(r, 'server_cpu_us_per_decision'))} | "
            f"{cell(_stat(r, 'client_cpu_s'), 1)} | {errors} | "
            f"{load} |")
    return lines


def markdown(results: Result, goals: bool = True) -> str:
    """The run as Markdown: what ran where, the tables, the cross-check, the goals."""
    meta = results.get("meta", {})
    machine = meta.get("machine", {})
    corpus = meta.get("corpus", {})
    pin = meta.get("pinning", {})
    out = [
        f"# Benchmark run {meta.get('finished', '?')}",
        "",
        f"- command: `{meta.get('command', 'python -m bench.run')}`",
        f"- machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, {machine.get('memory', '?')}, "
        f"{machine.get('kernel', '?')}; Python {machine.get('python', '?')}; load average before "
        f"{' '.join(machine.get('load_before', []))}, after {' '.join(machine.get('load_after', []))} "
        "(the machine is shared)",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()),
        f"- corpus: {corpus.get('n', '?')} requests, seed {corpus.get('seed', '?')}, "
        f"fingerprint {corpus.get('fingerprint', '?')}",
        f"- every figure: median of {meta.get('repeats', '?')} runs (min–max); in-process runs of "
        f"≥ {meta.get('inprocess_seconds', '?')} s, HTTP runs of {meta.get('http_seconds', '?')} s after a "
        f"{meta.get('warmup_seconds', '?')} s warm-up",
    ]
    if pin:
        out.append("- pinning: " + "; ".join(f"{k}: {v}" for k, v in pin.items()))
    if meta.get("pinning_machine"):
        out.append("- whole machine: " + "; ".join(f"{k}: {v}" for k, v in meta["pinning_machine"].items()))
    check = results.get("crosscheck", {})
    if check:
        engines = ", ".join(f"{name} {e['mismatches']}" for name, e in check.get("engines", {}).items())
        out += ["", f"**Cross-check** on the whole corpus ({check.get('requests')} requests): "
                    f"{'PASSED' if check.get('passed') else 'FAILED'}; mismatches vs the floor: {engines}."]
    if results.get("inprocess"):
        out += ["", "## In-process", ""] + _inprocess_table(results["inprocess"])
    if results.get("http"):
        out += ["", "## HTTP on loopback (AuthZEN, wrk), pinned: a core per server", ""] + _http_table(results["http"])
    if results.get("http_machine"):
        out += ["", "## HTTP on loopback (AuthZEN, wrk), whole machine: nothing pinned, a worker per core", "",
                "load: the 1-minute load average as each run started."] + [""] + _http_table(results["http_machine"])
    profile = results.get("profile", {})
    if profile.get("stages"):
        out += ["", "## Profile of this run", "", "In-process, CPU µs per decision per stage of the full path "
                "(min over passes):", "",
                "| bundle | parse_envelope | select_for | derive_facts | evaluate | full path |",
                "|---|---:|---:|---:|---:|---:|"]
        for row in profile["stages"]:
            out.append(f"| {row['bundle']} | {row['parse_envelope_us']:.1f} | {row['select_for_us']:.1f} | "
                       f"{row['derive_facts_us']:.1f} | {row['evaluate_us']:.1f} | {row['full_path_us']:.1f} |")
    server = profile.get("server", {})
    if server and "skipped" not in server and all("shares" in v for v in server.values()):
        from bench.stages import table

        out += ["", "Server, pinned (py-spy of the event-loop thread; share of its samples · µs of the run's server "
                "CPU per decision):", ""]
        out += table({name: (v["shares"], v["writer"], v["cpu_us_per_decision"]) for name, v in server.items()})
    for suffix, name in SETUPS.items():
        logs = results.get(f"logs{suffix}", {})
        if logs:
            out += ["", f"**Logs ({name})**: " + "; ".join(f"{k}: {v.get('detail', '')}" for k, v in logs.items())]
    notes = results.get("notes", [])
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    if goals:
        out += ["", "## Goals (ratios in this run)", "", "```"] + [r.line() for r in ratios(results)] + ["```"]
    return "\n".join(out) + "\n"


def write(results: Result, out_dir: Path) -> tuple[Path, Path]:
    """``latest.json`` and ``latest.md`` in ``out_dir`` (the previous ones are replaced)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    return json_path, md_path


DOCS_START = "<!-- figures:start (written by python -m bench.run; do not edit by hand) -->"
DOCS_END = "<!-- figures:end -->"


def update_docs(results: Result, docs: Path) -> bool:
    """Replace the figures block of docs/benchmarks.md with this run (True if the block was found)."""
    try:
        text = docs.read_text(encoding="utf-8")
    except OSError:
        return False
    start, end = text.find(DOCS_START), text.find(DOCS_END)
    if start < 0 or end < start:
        return False
    body = markdown(results).replace("# Benchmark run", "### Run", 1).replace("\n## ", "\n#### ")
    docs.write_text(text[:start + len(DOCS_START)] + "\n\n" + body + "\n" + text[end:], encoding="utf-8")
    return True


def print_ratios(results: Result, stream: Any = None) -> bool:
    """Print the goals, last thing of a run; True when every measured goal is met."""
    stream = stream or sys.stdout
    found = ratios(results)
    print("\nRatios against the peers (same run, medians):", file=stream)
    for r in found:
        print(r.line(), file=stream)
    return all(r.met for r in found if r.met is not None)


def main(argv: list[str] | None = None) -> int:
    """Render a stored results JSON again: Markdown to stdout, ratios last."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).resolve().parent / "results" / "latest.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
