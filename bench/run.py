"""The benchmark of issue 8 in one command: install the peers, cross-check, time, report.

    .venv/bin/python -m bench.run              # the full run (about 10 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick      # a smoke run in seconds (tiny corpus, tiny durations)

Order, each step a precondition of the next:
1. install the peers (bench/install_peers.sh: wrk from Debian, Cerbos from npm, cedarpy from PyPI);
2. cross-check: the floor, Poortwachter (in-process and over HTTP, single and batch), Cedar and
   Cerbos (single and batch) decide the whole corpus; any mismatch ends the run (exit 1);
3. in-process figures: decisions/s, p50 and p99 per decision, for Poortwachter (full path and
   evaluate-only), cedarpy (is_authorized, and over pre-parsed entities) and the floor, on the
   reference bundle; Poortwachter also on its real bundles (nl-jgz, nl-jeugdhulp) when their
   artifacts are in bundles/;
4. HTTP figures on loopback: AuthZEN single evaluation at concurrency 1, 8, 32 and batches of 50,
   Poortwachter vs Cerbos on the same requests, wrk as the load generator, decision log and metrics
   on for Poortwachter, audit on for Cerbos; servers pinned to one core, wrk to the other;
5. results: bench/results/latest.json and latest.md, the ratios against the peers printed last.

Each figure is the median of ``--repeats`` runs (3) with the min–max. Exit 0 when the cross-check
passed and the run completed (goals missed are reported, not failed: they are measurements).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.corpus import fingerprint, generate
from bench.floor import decide as floor_decide

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
REFERENCE = "bench-reference"
REAL_BUNDLES = ("nl-jgz", "nl-jeugdhulp")
Request = dict[str, Any]
Decider = Callable[[Request], bool]
# the reference bundle never reads context.time's clock fallback, but decide() needs a "now"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class Config:
    """What to run and how long; ``--quick`` shrinks everything to a smoke run."""

    n: int = 10_000
    seed: int = 8
    repeats: int = 3
    inprocess_seconds: float = 2.0
    http_seconds: float = 10.0
    warmup_seconds: float = 2.0
    concurrencies: tuple[int, ...] = (1, 8, 32)
    batch_size: int = 50
    batch_concurrency: int = 8
    server_core: int | None = 1
    client_core: int | None = 0
    #: "pinned": one core per server, wrk on the other; "machine": nothing pinned, Poortwachter with a
    #: worker per core, Cerbos with GOMAXPROCS = cores (how a sidecar is deployed)
    setups: tuple[str, ...] = ("pinned", "machine")
    install: bool = True
    cerbos: bool = True
    cedar: bool = True
    http: bool = True
    real_bundles: bool = True
    profile: bool = False
    quick: bool = False
    out: Path | None = RESULTS
    command: str = "python -m bench.run"
    notes: list[str] = field(default_factory=list)


def say(message: str) -> None:
    """Progress on stderr, so stdout keeps the report and the ratios."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# the machine and what ran where


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, kernel and Python: the figures mean little without them."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal")), 0)
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "kernel": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "load_before": _read("/proc/loadavg").split(" ")[:3],
    }


def _version_of(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return "not installed"
    return (out.stdout or out.stderr).strip().splitlines()[0][:60] if (out.stdout or out.stderr) else "?"


def versions(config: Config) -> dict[str, str]:
    """Versions of everything measured; the Poortwachter one is the git revision of this checkout."""
    import importlib.metadata as md

    found = {"poortwachter": _git_revision()}
    for package in ("cedarpy", "orjson", "uvicorn", "uvloop", "httptools"):
        try:
            found[package] = md.version(package)
        except md.PackageNotFoundError:
            found[package] = "not installed"
    if config.cerbos:
        from bench.peers.cerbos_runner import CERBOS_VERSION

        found["cerbos"] = CERBOS_VERSION
    found["wrk"] = _version_of(["wrk", "--version"]).split(" [")[0].removeprefix("wrk ")
    return found


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "bench"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{rev}{'+dirty' if dirty else ''}"


@contextmanager
def pinned(core: int | None) -> Iterator[None]:
    """Run the block with this process on one core (restored afterwards); no-op without affinity."""
    if core is None or not hasattr(os, "sched_setaffinity") or core >= (os.cpu_count() or 1):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# ---------------------------------------------------------------------------------------------
# engines in-process


def load_catalog() -> Any:
    """Every signed artifact in bundles/, verified with the keys in keys/ (the DEV key), as the service would."""
    from poortwachter.artifacts.directory import load_directory
    from poortwachter.artifacts.keys import load_keyring

    result = load_directory(ROOT / "bundles", load_keyring(ROOT / "keys"))
    for file, why in result.errors.items():
        say(f"  refused {file}: {why}")
    return result.catalog


def routing() -> Any:
    """How the benchmark routes: the law bundles by dossier type, the reference fixture by its own type
    ``bench``; fixed corpus times and named versions are replayed (no clock check)."""
    from poortwachter.core.routing import Routing

    return Routing.replay({"jgz": "nl-jgz", "jeugdhulp": "nl-jeugdhulp", "bench": REFERENCE})


def poortwachter_full(catalog: Any, bundle: str) -> Decider:
    """The whole in-process path: parse, route to the bundle (``bundle`` is named in each request or
    routed by its dossier type), derive facts, evaluate."""
    from poortwachter.core.decide import decide

    routes = routing()

    def run(request: Request) -> bool:
        return bool(decide(catalog, request, NOW, routes).verdict.decision)
    return run


def poortwachter_facts(catalog: Any, bundle: str, requests: list[Request]) -> tuple[Any, list[Any]]:
    """The compiled bundle and each request's derived facts (for evaluate-only timing)."""
    from poortwachter.core.decide import derive_facts
    from poortwachter.core.request import parse_envelope

    compiled = catalog.select(bundle, NOW.date())
    return compiled, [derive_facts(compiled, parse_envelope(r, NOW)) for r in requests]


def poortwachter_evaluate(compiled: Any) -> Callable[[Any], bool]:
    """Evaluate only: facts already derived; the compiled index, the rules, the verdict."""
    from poortwachter.core.policy.evaluate import evaluate

    def run(facts: Any) -> bool:
        return bool(evaluate(compiled, facts).decision)
    return run


def cedar_engines(requests: list[Request]) -> tuple[Decider, Callable[[Any], bool], list[Any]]:
    """cedarpy per request (entities built and parsed per call), and evaluation over pre-parsed entities."""
    import cedarpy

    from bench.peers.cedar_runner import CedarPeer

    peer = CedarPeer()
    cedar_requests, entities = peer.prepare(requests)
    handle = peer.parse_entities(entities)

    def prepared(cedar_request: Any) -> bool:
        result = cedarpy.is_authorized(cedar_request, peer.policies, handle)
        if result.diagnostics.errors:
            raise RuntimeError(f"Cedar evaluation error: {result.diagnostics.errors}")
        return bool(result.allowed)
    return peer.decide, prepared, cedar_requests


def law_requests(requests: list[Request], bundle: str) -> list[Request]:
    """The corpus in the contract's own vocabulary, for the real bundles.

    The reference corpus speaks the contract's vocabulary except where the peers need more: the
    professional's ``relation: professional`` (the contract has no such relation: a professional is
    ``subject.type``), the author kind ``client`` (the contract says ``self``); and the dossier type
    is set to the bundle's. The facts the peers read (client_age, consent_of_client) are ignored by
    the real bundles, which compute the age from the birthdate themselves.
    """
    import copy

    dossier_type = {"nl-jgz": "jgz", "nl-jeugdhulp": "jeugdhulp"}.get(bundle, "jgz")
    out = []
    for request in requests:
        r = copy.deepcopy(request)
        props = r["subject"]["properties"]
        if props.get("relation") == "professional":
            del props["relation"]
        res = r["resource"]["properties"]
        res["dossier_type"] = dossier_type
        if res["author"]["kind"] == "client":
            res["author"]["kind"] = "self"
        r["context"]["bundle"] = bundle
        out.append(r)
    return out


def law_corpus(config: Config, bundle: str) -> list[Request]:
    """Requests for a real bundle: bench/core_bench.py's youth-care corpus when it is there (every
    relation, action, consents, objections, disclosures: the law bundles' own workload), else the
    reference corpus rewritten into the contract's vocabulary (:func:`law_requests`). Either way the
    dossier type is the bundle's and ``context.bundle`` names it."""
    try:
        from bench.core_bench import corpus as youth_care_corpus
    except ImportError:
        return law_requests(generate(config.n, config.seed), bundle)
    dossier_type = {"nl-jgz": "jgz", "nl-jeugdhulp": "jeugdhulp"}.get(bundle, "jgz")
    requests = youth_care_corpus(config.n, config.seed)
    for r in requests:
        r["resource"]["properties"]["dossier_type"] = dossier_type
        r["context"]["bundle"] = bundle
    return requests


def law_corpus_name() -> str:
    return ("bench/core_bench.py corpus(n, seed), dossier type and context.bundle set per bundle"
            if importlib.util.find_spec("bench.core_bench") else "the reference corpus in the contract's vocabulary")


# ---------------------------------------------------------------------------------------------
# timing in-process


def time_each(decide: Callable[[Any], Any], items: list[Any], seconds: float) -> dict[str, float]:
    """Decide ``items`` (whole passes) until ``seconds`` have passed, timing every call.

    decisions/s is the count over the wall time of the loop (timer overhead included, ~60 ns a call,
    the same for every engine); p50/p99 are per call.
    """
    clock = time.perf_counter_ns
    latencies: list[int] = []
    record = latencies.append
    gc.collect()
    cpu0 = time.process_time()
    start = clock()
    deadline = start + int(seconds * 1e9)
    while True:
        for item in items:
            t0 = clock()
            decide(item)
            record(clock() - t0)
        if clock() >= deadline:
            break
    wall = (clock() - start) / 1e9
    cpu = time.process_time() - cpu0
    latencies.sort()
    count = len(latencies)
    return {
        "decisions": count, "seconds": wall, "decisions_per_s": count / wall,
        "p50_us": latencies[count // 2] / 1000, "p99_us": latencies[min(count - 1, int(count * 0.99))] / 1000,
        "max_us": latencies[-1] / 1000, "cpu_s": cpu, "decisions_per_cpu_s": count / cpu if cpu > 0 else 0.0,
    }


def inprocess(config: Config, catalog: Any, requests: list[Request]) -> list[dict[str, Any]]:
    """In-process figures, each the median of ``repeats`` runs; runs of all engines are interleaved."""
    engines: list[tuple[dict[str, str], Callable[[Any], Any], list[Any]]] = []
    compiled, facts = poortwachter_facts(catalog, REFERENCE, requests)
    engines.append(({"bundle": REFERENCE, "engine": "poortwachter", "mode": "full path"},
                    poortwachter_full(catalog, REFERENCE), requests))
    engines.append(({"bundle": REFERENCE, "engine": "poortwachter", "mode": "evaluate only"},
                    poortwachter_evaluate(compiled), facts))
    if config.cedar:
        each, prepared, cedar_requests = cedar_engines(requests)
        engines.append(({"bundle": REFERENCE, "engine": "cedarpy", "mode": "is_authorized"}, each, requests))
        engines.append(({"bundle": REFERENCE, "engine": "cedarpy", "mode": "evaluate only (pre-parsed entities)"},
                        prepared, cedar_requests))
    engines.append(({"bundle": REFERENCE, "engine": "floor", "mode": "plain Python"}, floor_decide, requests))
    for name in real_bundles(config, catalog):
        law = law_corpus(config, name)
        law_compiled, law_facts = poortwachter_facts(catalog, name, law)
        engines.append(({"bundle": name, "engine": "poortwachter", "mode": "full path"},
                        poortwachter_full(catalog, name), law))
        engines.append(({"bundle": name, "engine": "poortwachter", "mode": "evaluate only"},
                        poortwachter_evaluate(law_compiled), law_facts))
    runs: list[list[dict[str, float]]] = [[] for _ in engines]
    # the corpora and their derived facts are the harness's data, not engine state: keep the full
    # collections of this process from walking them in the middle of a timed call
    gc.collect()
    gc.freeze()
    with pinned(config.server_core):
        for _, decide, items in engines:  # warm-up: caches, specialisation, lazily built plans
            for item in items[:500]:
                decide(item)
        for repeat in range(config.repeats):
            for i, (label, decide, items) in enumerate(engines):
                runs[i].append(time_each(decide, items, config.inprocess_seconds))
                last = runs[i][-1]
                say(f"  run {repeat + 1}/{config.repeats} {label['bundle']:<16} {label['engine']:<13} "
                    f"{label['mode']:<36} {last['decisions_per_s']:>11,.0f}/s  p50 {last['p50_us']:7.1f} µs  "
                    f"p99 {last['p99_us']:7.1f} µs")
    gc.unfreeze()
    return [{**label, "runs": r, "summary": report.summarize(r)}
            for (label, _, _), r in zip(engines, runs)]


def real_bundles(config: Config, catalog: Any) -> list[str]:
    """The real bundles whose artifacts are loaded (a run before they exist simply leaves them out)."""
    if not config.real_bundles:
        return []
    names = catalog.names()
    missing = [b for b in REAL_BUNDLES if b not in names]
    if missing:
        note = f"real bundle artifacts not in bundles/: {', '.join(missing)} (left out)"
        if note not in config.notes:
            config.notes.append(note)
    return [b for b in REAL_BUNDLES if b in names]


# ---------------------------------------------------------------------------------------------
# where the time goes


def stage_profile(config: Config, catalog: Any, requests: list[Request]) -> list[dict[str, Any]]:
    """CPU time per decision of each stage of the full path, per bundle (min over passes: robust on a
    busy machine). The stages are the core's own: parse_envelope, select_for, derive_facts, evaluate."""
    from poortwachter.core.decide import derive_facts
    from poortwachter.core.policy.evaluate import evaluate
    from poortwachter.core.request import parse_envelope

    def per_call(func: Callable[[Any], Any], items: list[Any], passes: int = 7) -> float:
        best = float("inf")
        for _ in range(passes):
            start = time.thread_time()
            for item in items:
                func(item)
            best = min(best, (time.thread_time() - start) / len(items) * 1e6)
        return best

    rows = []
    with pinned(config.server_core):
        for name in [REFERENCE, *real_bundles(config, catalog)]:
            corpus = (requests if name == REFERENCE else law_corpus(config, name))[:3000]
            default = name if name == REFERENCE else None
            routes = routing()
            compiled = catalog.select(name, NOW.date())
            envelopes = [parse_envelope(r, NOW) for r in corpus]
            facts = [derive_facts(compiled, e) for e in envelopes]
            row = {
                "bundle": name,
                "parse_envelope_us": per_call(lambda r: parse_envelope(r, NOW), corpus),
                "select_for_us": per_call(lambda e: catalog.select_for(e, routes), envelopes),
                "derive_facts_us": per_call(lambda e: derive_facts(compiled, e), envelopes),
                "evaluate_us": per_call(lambda f: evaluate(compiled, f), facts),
                "full_path_us": per_call(poortwachter_full(catalog, default or name), corpus),
            }
            rows.append(row)
            say(f"  {name:<16} " + "  ".join(f"{k.removesuffix('_us')} {v:.1f} µs" for k, v in row.items()
                                              if k != "bundle"))
    return rows


def server_profile(stage: Any, seconds: float) -> dict[str, Any]:
    """py-spy of Poortwachter's server while wrk runs single c=32 and batches: each stage's share of the
    event-loop thread's samples (bench/stages.py) and, with the CPU per decision of that same run, its
    microseconds per decision; the decision-log writer thread (beside the loop) apart."""
    import shutil
    import tempfile

    from bench import stages

    spy = str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "py-spy"],
                       check=False, stdout=sys.stderr)
    spy = spy if Path(spy).exists() else (shutil.which("py-spy") or "")
    if not spy:
        return {"skipped": "py-spy could not be installed (pip install py-spy)"}
    server = stage.servers["poortwachter"]
    found: dict[str, Any] = {}
    c = stage.config
    for scenario in (Scenario("single", "/access/v1/evaluation", 1, max(c.concurrencies)),
                     Scenario("batch", "/access/v1/evaluations", c.batch_size, c.batch_concurrency)):
        out = Path(tempfile.mkstemp(suffix=".txt")[1])
        spy_proc = subprocess.Popen([spy, "record", "-p", str(server.process.pid), "-d", str(int(seconds)),
                                     "-r", "100", "-f", "raw", "-o", str(out), "--nonblocking"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        run = stage.one_run("poortwachter", scenario, seconds)
        spy_proc.wait(timeout=seconds + 30)
        share, writer = stages.shares(out.read_text(errors="replace") if out.exists() else "")
        found[f"{scenario.name} c={scenario.concurrency}"] = {
            "shares": share, "writer": writer, "cpu_us_per_decision": run["server_cpu_us_per_decision"],
            "load": run["load"]}
        out.unlink(missing_ok=True)
    return found


# ---------------------------------------------------------------------------------------------
# cross-check


@dataclass
class CrossCheck:
    """Every engine's decisions on the whole corpus, compared with the floor's."""

    requests: list[Request]
    expected: list[bool]
    answers: dict[str, list[bool]] = field(default_factory=dict)

    def add(self, engine: str, answers: list[bool]) -> int:
        if len(answers) != len(self.requests):
            raise RuntimeError(f"{engine}: {len(answers)} answers for {len(self.requests)} requests")
        self.answers[engine] = answers
        wrong = [i for i, (a, b) in enumerate(zip(answers, self.expected)) if a != b]
        say(f"  cross-check {engine:<34} {len(wrong)} mismatches of {len(answers)}")
        for i in wrong[:5]:
            from bench.crosscheck import describe

            say(f"    MISMATCH #{i} {engine}: floor {self.expected[i]}, got {answers[i]}: "
                f"{describe(self.requests[i])}")
        return len(wrong)

    def summary(self) -> dict[str, Any]:
        engines = {name: {"checked": len(a), "mismatches": sum(x != y for x, y in zip(a, self.expected))}
                   for name, a in self.answers.items()}
        return {"requests": len(self.requests), "engines": engines,
                "passed": all(e["mismatches"] == 0 for e in engines.values())}


def crosscheck_inprocess(config: Config, catalog: Any, requests: list[Request]) -> CrossCheck:
    """Floor, Poortwachter (full path and evaluate-only) and Cedar (per request, batches, pre-parsed)."""
    check = CrossCheck(requests, [floor_decide(r) for r in requests])
    check.add("poortwachter in-process", [poortwachter_full(catalog, REFERENCE)(r) for r in requests])
    compiled, facts = poortwachter_facts(catalog, REFERENCE, requests)
    evaluate = poortwachter_evaluate(compiled)
    check.add("poortwachter evaluate-only", [evaluate(f) for f in facts])
    if config.cedar:
        from bench.crosscheck import batched
        from bench.peers.cedar_runner import CedarPeer

        each, prepared, cedar_requests = cedar_engines(requests)
        check.add("cedarpy is_authorized", [each(r) for r in requests])
        check.add(f"cedarpy batch of {config.batch_size}", batched(CedarPeer().decide_batch, config.batch_size)(requests))
        check.add("cedarpy pre-parsed entities", [prepared(r) for r in cedar_requests])
    return check


def crosscheck_http(check: CrossCheck, engine: str, base_url: str, batch_size: int) -> None:
    """One server's AuthZEN answers, single and in batches, into the cross-check."""
    from bench.crosscheck import batched
    from bench.peers.cerbos_runner import AuthZenClient

    client = AuthZenClient(base_url)
    try:
        check.add(f"{engine} /evaluation", [client.evaluate(r) for r in check.requests])
        check.add(f"{engine} /evaluations of {batch_size}", batched(client.evaluations, batch_size)(check.requests))
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# over HTTP: servers, wrk, CPU


#: wrk script: pre-formats every request body of a file (one JSON document per line) at start and
#: sends them round robin; each thread starts elsewhere in the corpus. ``done`` prints one JSON line.
WRK_LUA = r"""
local bodies, count, index = {}, 0, 0
local threads_made = 0

function setup(thread)
  thread:set("first", threads_made * 7919)
  threads_made = threads_made + 1
end

function init(args)
  local headers = {["Content-Type"] = "application/json"}
  for line in io.lines(args[1]) do
    count = count + 1
    bodies[count] = wrk.format("POST", args[2], headers, line)
  end
  index = (first or 0) % count
end

function request()
  index = index % count + 1
  return bodies[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %d, "requests": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "max": %d, "p50": %d, ' ..
    '"p90": %d, "p99": %d, "p999": %d}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (uvicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            total += (int(stats[current][11]) + int(stats[current][12])) / tick
        todo.extend(children.get(current, []))
    return total


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PoortwachterServer:
    """``poortwachter serve`` on loopback, pinned with taskset, decision log to a file, reload off.

    The decision log and the metrics stay on (as in production); the default bundle is the reference
    bundle so the bodies are byte-for-byte those sent to Cerbos; the real bundles are chosen per
    request with ``context.bundle``.
    """

    def __init__(self, workdir: Path, cpus: set[int] | None, workers: int = 1) -> None:
        self.workdir = workdir
        self.cpus = cpus
        self.workers = workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The decision log folder (rotating JSON-lines files, durable before the answer)."""
        return self.workdir / "decision-log"

    def start(self) -> PoortwachterServer:
        command = [str(Path(sys.executable).parent / "poortwachter"), "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--bundles", str(ROOT / "bundles"), "--workers", str(self.workers)]
        if self.cpus:
            command = ["taskset", "-c", ",".join(map(str, sorted(self.cpus))), *command]
        env = dict(os.environ, POORTWACHTER_DOSSIER_TYPE_BUNDLES=f"jgz=nl-jgz,jeugdhulp=nl-jeugdhulp,bench={REFERENCE}",
                   POORTWACHTER_MAX_CLOCK_SKEW="0",  # the corpora replay fixed times
                   POORTWACHTER_DECISION_LOG=str(self.log_path),
                   POORTWACHTER_RELOAD="off", POORTWACHTER_LOG_LEVEL="warning",
                   POORTWACHTER_STATE_DIR=str(self.workdir / "state"))
        env.pop("POORTWACHTER_CONFIG", None)
        self.log_path.mkdir(parents=True, exist_ok=True)
        out = (self.workdir / "server.log").open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir)
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"poortwachter serve exited with {self.process.returncode}:\n{self.tail()}")
            if self._get("/readyz")[0] == 200:
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"poortwachter serve not ready after 60 s:\n{self.tail()}")

    def _get(self, path: str) -> tuple[int, bytes]:
        import http.client

        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            conn.close()
        except OSError:
            return 0, b""
        return response.status, body

    def decisions_counted(self) -> int | None:
        """poortwachter_decisions_total summed over its labels (one worker: the whole server)."""
        status, body = self._get("/metrics")
        if status != 200:
            return None
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith("poortwachter_decisions_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def settled_count(self, timeout: float = 10.0) -> int | None:
        """The decision counter once the server is idle: requests in flight when wrk stopped are still
        decided (and logged) after it; two equal reads 0.5 s apart, at most ``timeout`` seconds."""
        last = self.decisions_counted()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.decisions_counted()
            if now == last:
                break
            last = now
        return last

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join((self.workdir / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        import signal

        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the lifespan closes (flushes) the decision log
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def logged(self) -> int:
        """Decision records in the log (lines with a decision_id; file open/close lines are not decisions)."""
        import orjson

        files = sorted(self.log_path.glob("*.jsonl")) if self.log_path.is_dir() else [self.log_path]
        count = 0
        for file in files:
            try:
                with file.open("rb") as log:
                    for line in log:
                        if line.strip() and b'"decision_id"' in line and orjson.loads(line).get("decision_id"):
                            count += 1
            except OSError:
                continue
        return count


@dataclass
class Scenario:
    """One kind of wrk run: which endpoint, how many items a body carries, how many connections."""

    name: str
    path: str
    batch: int
    concurrency: int
    bundle: str = REFERENCE

    @property
    def label(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "scenario": self.name, "batch": self.batch, "concurrency": self.concurrency}


def run_wrk(url: str, bodies: Path, path: str, concurrency: int, seconds: float, script: Path,
            core: int | None) -> tuple[dict[str, Any], float]:
    """One wrk run; returns wrk's JSON summary and wrk's own CPU seconds (from wait4)."""
    threads = 1 if concurrency < 8 or core is not None else 2
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "10s", "-s", str(script), url, "--", str(bodies), path]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped children only: the servers still run
    process = subprocess.run(command, capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out, err = process.stdout, process.stderr
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("WRKJSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.decode(errors='replace')[-800:]}\n{text[-800:]}")
    import json

    return json.loads(line.removeprefix("WRKJSON ")), cpu


class HttpStage:
    """Both servers up at once (each pinned to the server core, one idle while the other is measured),
    runs interleaved per repeat, so slow drifts of the machine hit both engines alike."""

    def __init__(self, config: Config, requests: list[Request], catalog: Any, setup: str = "pinned") -> None:
        import tempfile

        self.config = config
        self.setup = setup
        cores = os.cpu_count() or 1
        whole = setup == "machine"
        self.server_cpus = None if whole or config.server_core is None else {config.server_core}
        self.client_core = None if whole else config.client_core
        self.workers = cores if whole else 1
        self.gomaxprocs = cores if whole else None  # pinned: Go follows the affinity (1)
        self.requests = requests
        self.workdir = Path(tempfile.mkdtemp(prefix=f"poortwachter-bench-{setup}-"))
        self.script = self.workdir / "authzen.lua"
        self.script.write_text(WRK_LUA, encoding="utf-8")
        self.laws = real_bundles(config, catalog)
        self.servers: dict[str, Any] = {}
        self.decisions_sent: dict[str, int] = {}
        self.cross_decisions = 0

    # bodies ---------------------------------------------------------------------------------

    def bodies(self, scenario: Scenario) -> Path:
        """The corpus as request bodies, one per line: single requests, or batches of unique items."""
        import orjson

        path = self.workdir / f"{scenario.bundle}-{scenario.batch}.jsonl"
        if path.exists():
            return path
        requests = self.requests if scenario.bundle == REFERENCE else law_corpus(self.config, scenario.bundle)
        with path.open("wb") as out:
            if scenario.batch == 1:
                for r in requests:
                    out.write(orjson.dumps(r) + b"\n")
            else:
                from bench.peers.cerbos_runner import check_batch_ids

                for start in range(0, len(requests) - scenario.batch + 1, scenario.batch):
                    chunk = requests[start:start + scenario.batch]
                    check_batch_ids(chunk)  # unique subject/resource ids per batch (Cerbos merges repeats)
                    out.write(orjson.dumps({"evaluations": chunk}) + b"\n")
        return path

    # servers --------------------------------------------------------------------------------

    def start(self) -> None:
        pw = PoortwachterServer(self.workdir / "poortwachter", self.server_cpus, self.workers)
        pw.workdir.mkdir()
        self.servers["poortwachter"] = pw.start()
        if self.config.cerbos:
            from bench.peers.cerbos_runner import CerbosServer

            self.servers["cerbos"] = CerbosServer(cpus=self.server_cpus, audit=True, gomaxprocs=self.gomaxprocs).start()

    def stop(self) -> None:
        pw = self.servers.get("poortwachter")
        if pw is not None and pw.process is not None:
            self.metric_count = pw.settled_count()
        for server in self.servers.values():
            server.stop()

    def pinning(self) -> dict[str, str]:
        pin = {f"{name} server": "not pinned" if self.server_cpus is None
               else f"core {','.join(map(str, sorted(self.server_cpus)))} (taskset)" for name in self.servers}
        if "poortwachter" in self.servers:
            pin["poortwachter server"] += f", {self.workers} worker{'s' if self.workers > 1 else ''}"
        if "cerbos" in self.servers:
            pin["cerbos server"] += f", GOMAXPROCS {self.gomaxprocs or 'from the affinity (1)'}"
        pin["wrk"] = ("not pinned, 2 threads at 8+ connections" if self.client_core is None
                      else f"core {self.client_core} (taskset), 1 thread")
        return pin

    def crosscheck(self, check: CrossCheck, label: str = "") -> None:
        for name, server in self.servers.items():
            crosscheck_http(check, name + label, server.base_url, self.config.batch_size)
            self.decisions_sent[name] = self.decisions_sent.get(name, 0) + 2 * len(self.requests)

    # runs -----------------------------------------------------------------------------------

    def scenarios(self) -> list[Scenario]:
        """Pinned: every concurrency, batches, the real bundles single and in batches. Whole machine:
        what issue 16 compares (single at the highest concurrency, batches, the real bundles single)."""
        c = self.config
        whole = self.setup == "machine"
        found = [Scenario("single", "/access/v1/evaluation", 1, n)
                 for n in ((max(c.concurrencies),) if whole else c.concurrencies)]
        found.append(Scenario("batch", "/access/v1/evaluations", c.batch_size, c.batch_concurrency))
        for law in self.laws:
            found.append(Scenario("single", "/access/v1/evaluation", 1, max(c.concurrencies), law))
            if not whole:
                found.append(Scenario("batch", "/access/v1/evaluations", c.batch_size, c.batch_concurrency, law))
        return found

    def one_run(self, engine: str, scenario: Scenario, seconds: float) -> dict[str, float]:
        server = self.servers[engine]
        load = float(_read("/proc/loadavg").split(" ")[0] or 0)
        cpu0 = server.cpu_seconds()
        summary, client_cpu = run_wrk(server.base_url, self.bodies(scenario), scenario.path,
                                      scenario.concurrency, seconds, self.script, self.client_core)
        server_cpu = server.cpu_seconds() - cpu0
        duration = summary["duration_us"] / 1e6
        done = summary["requests"]
        errors = sum(summary["errors"].values())
        self.decisions_sent[engine] = self.decisions_sent.get(engine, 0) + done * scenario.batch
        latency = summary["latency_us"]
        return {
            "requests": done, "decisions": done * scenario.batch, "seconds": duration,
            "requests_per_s": done / duration, "decisions_per_s": done * scenario.batch / duration,
            "p50_ms": latency["p50"] / 1000, "p90_ms": latency["p90"] / 1000, "p99_ms": latency["p99"] / 1000,
            "max_ms": latency["max"] / 1000, "errors": errors, "server_cpu_s": server_cpu,
            "client_cpu_s": client_cpu, "server_cpu_us_per_decision": server_cpu / max(1, done * scenario.batch) * 1e6,
            "load": load,  # 1-minute load average as the run started: how busy the machine was
        }

    def measure(self) -> list[dict[str, Any]]:
        c = self.config
        rows: dict[tuple[str, str, int, int], dict[str, Any]] = {}
        plan = [(engine, s) for s in self.scenarios() for engine in self.servers
                if engine == "poortwachter" or s.bundle == REFERENCE]
        for engine in self.servers:  # warm-up: connections, caches, JIT-less Python's lazily built state
            warm = Scenario("single", "/access/v1/evaluation", 1, 8)
            self.one_run(engine, warm, c.warmup_seconds)
        for repeat in range(c.repeats):
            for engine, scenario in plan:
                run = self.one_run(engine, scenario, c.http_seconds)
                key = (engine, scenario.bundle, scenario.batch, scenario.concurrency)
                rows.setdefault(key, {"engine": engine, **scenario.label, "runs": []})["runs"].append(run)
                say(f"  {self.setup} run {repeat + 1}/{c.repeats} {engine:<13} {scenario.bundle:<16} {scenario.name:<6} "
                    f"c={scenario.concurrency:<3} {run['decisions_per_s']:>10,.0f} decisions/s  "
                    f"p99 {run['p99_ms']:7.2f} ms  server CPU {run['server_cpu_s']:5.1f} s  "
                    f"wrk CPU {run['client_cpu_s']:5.1f} s  errors {run['errors']}")
        for row in rows.values():
            row["summary"] = report.summarize(row["runs"])
        return list(rows.values())

    def log_summary(self) -> dict[str, Any]:
        """Nothing lost: Poortwachter's log lines equal its decision counter (and cover every decision
        the clients got); Cerbos' audit has a decision entry for every decision the clients got."""
        found: dict[str, Any] = {}
        pw = self.servers.get("poortwachter")
        if pw is not None:
            logged, answered, counted = pw.logged(), self.decisions_sent.get("poortwachter", 0), getattr(
                self, "metric_count", None)
            complete = logged >= answered and (counted is None or logged == counted)
            found["poortwachter decision log"] = {
                "logged": logged, "answered_to_clients": answered, "counted_by_metrics": counted,
                "complete": complete,
                "detail": f"{logged:,} log lines, {counted if counted is not None else '?':,} decisions counted by "
                          f"/metrics, {answered:,} answers received by the clients"
                          + ("" if complete else " — LOST DECISIONS"),
            }
        cerbos = self.servers.get("cerbos")
        if cerbos is not None:
            from bench.crosscheck import count_audit_decisions

            logged, answered = count_audit_decisions(cerbos), self.decisions_sent.get("cerbos", 0)
            found["cerbos audit"] = {
                "logged": logged, "answered_to_clients": answered, "complete": logged >= answered,
                "detail": f"{logged:,} decision entries for {answered:,} answers received by the clients",
            }
        return found


# ---------------------------------------------------------------------------------------------
# the run


def install_peers(config: Config) -> None:
    """bench/install_peers.sh: idempotent, skipped steps cost nothing."""
    env = dict(os.environ, PYTHON=sys.executable)
    subprocess.run(["bash", str(ROOT / "bench" / "install_peers.sh")], check=True, env=env,
                   stdout=sys.stderr)


def usable_cores(config: Config) -> None:
    """Pin only where it can be done: two cores or more and taskset present (else say so)."""
    import shutil

    cores = os.cpu_count() or 1
    wanted = [c for c in (config.server_core, config.client_core) if c is not None]
    if any(c >= cores for c in wanted) or not shutil.which("taskset") or not hasattr(os, "sched_setaffinity"):
        config.server_core = config.client_core = None
        config.notes.append(f"not pinned: {cores} core(s) or no taskset; servers, wrk and in-process runs share "
                            "the machine's cores")


def run(config: Config) -> tuple[int, dict[str, Any]]:
    """The whole benchmark; returns the exit code and the results document."""
    started = datetime.now(UTC)
    usable_cores(config)
    if config.install:
        say("installing peers (bench/install_peers.sh)")
        install_peers(config)
    requests = generate(config.n, config.seed)
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"), "command": config.command,
        "machine": machine(), "versions": versions(config),
        "corpus": {"n": len(requests), "seed": config.seed, "fingerprint": fingerprint(requests),
                   "real_bundles": law_corpus_name()},
        "repeats": config.repeats, "inprocess_seconds": config.inprocess_seconds,
        "http_seconds": config.http_seconds, "warmup_seconds": config.warmup_seconds,
    }
    results: dict[str, Any] = {"meta": meta, "notes": config.notes}
    say(f"corpus: {len(requests)} requests, seed {config.seed}, fingerprint {meta['corpus']['fingerprint']}")
    catalog = load_catalog()
    if REFERENCE not in catalog.names():
        raise SystemExit(f"bundles/ has no {REFERENCE} artifact: build it with `poortwachter build policies/{REFERENCE}`")

    say("cross-check (in-process)")
    check = crosscheck_inprocess(config, catalog, requests)
    results["crosscheck"] = check.summary()
    if not results["crosscheck"]["passed"]:
        say("cross-check FAILED: engines disagree; nothing is timed")
        return 1, results
    meta["pinning"] = pinning(config)
    say("in-process figures")
    results["inprocess"] = inprocess(config, catalog, requests)
    if config.profile:
        say("profile: CPU per stage of the full path")
        results["profile"] = {"stages": stage_profile(config, catalog, requests)}
    for setup in config.setups if config.http else ():
        code = http_setup(config, results, check, catalog, requests, setup)
        if code:
            return code, results
    meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["machine"]["load_after"] = _read("/proc/loadavg").split(" ")[:3]
    return 0, results


def http_setup(config: Config, results: dict[str, Any], check: CrossCheck, catalog: Any, requests: list[Request],
               setup: str) -> int:
    """One set-up of the HTTP stage (``pinned`` or ``machine``): start both servers, cross-check them
    over HTTP (a mismatch ends the run: exit 1), time, stop (flushing the logs), count the logs."""
    suffix = "" if setup == "pinned" else f"_{setup}"
    stage = HttpStage(config, requests, catalog, setup)
    try:
        say(f"{setup}: starting servers; cross-check over HTTP")
        try:
            stage.start()
        except (RuntimeError, TimeoutError) as exc:  # a set-up that cannot start is reported, not fatal
            config.notes.append(f"{setup} set-up not measured: a server did not start ({str(exc)[:300]})")
            say(config.notes[-1])
            return 0
        stage.crosscheck(check, f" ({setup})" if suffix else "")
        results["crosscheck"] = check.summary()
        if not results["crosscheck"]["passed"]:
            say("cross-check FAILED: engines disagree; nothing more is timed")
            return 1
        results["meta"].setdefault(f"pinning{suffix}", {}).update(stage.pinning())
        say(f"{setup}: HTTP figures")
        results[f"http{suffix}"] = stage.measure()
        if config.profile and setup == "pinned":
            say("profile: py-spy of the server under wrk")
            results.setdefault("profile", {})["server"] = server_profile(stage, max(3.0, config.http_seconds))
    finally:
        stage.stop()
        results[f"logs{suffix}"] = stage.log_summary()
    return 0


def pinning(config: Config) -> dict[str, str]:
    """Where the in-process engines ran (the HTTP set-ups add their servers and wrk)."""
    return {"in-process engines": "not pinned" if config.server_core is None
            else f"core {config.server_core} (this process, sched_setaffinity)"}


def parse_args(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 300 requests, 1 repeat, tiny durations")
    p.add_argument("--n", type=int, help="corpus size (default 10000; --quick 300)")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--repeats", type=int, help="runs per figure (default 3)")
    p.add_argument("--inprocess-seconds", type=float, help="length of one in-process run (default 2)")
    p.add_argument("--http-seconds", type=float, help="length of one wrk run (default 10)")
    p.add_argument("--warmup-seconds", type=float, help="wrk warm-up before each server's runs (default 2)")
    p.add_argument("--batch-concurrency", type=int, help="connections for the batch runs (default 8)")
    p.add_argument("--server-core", type=int, default=1, help="core for the servers and in-process runs")
    p.add_argument("--client-core", type=int, default=0, help="core for wrk")
    p.add_argument("--setup", choices=("pinned", "machine", "both"), default="both",
                   help="HTTP set-up: pinned (a core per server, wrk on the other), machine (nothing pinned, a "
                        "worker per core, GOMAXPROCS = cores) or both (default)")
    p.add_argument("--concurrencies", help="single-evaluation connections, comma-separated (default 1,8,32)")
    p.add_argument("--no-install", action="store_true", help="do not run bench/install_peers.sh")
    p.add_argument("--no-cerbos", action="store_true", help="leave Cerbos out (no npm, no server)")
    p.add_argument("--no-cedar", action="store_true", help="leave cedarpy out")
    p.add_argument("--no-http", action="store_true", help="in-process only (no servers, no wrk)")
    p.add_argument("--no-real-bundles", action="store_true", help="reference bundle only")
    p.add_argument("--profile", action="store_true",
                   help="also: CPU per stage of the full path, py-spy of the server under wrk")
    p.add_argument("--out", type=Path, help="results folder (default bench/results; --quick: bench/results/quick)")
    p.add_argument("--no-write", action="store_true", help="print only; keep bench/results as it is")
    a = p.parse_args(argv)
    quick = a.quick
    config = Config(
        n=a.n or (300 if quick else 10_000), seed=a.seed, repeats=a.repeats or (1 if quick else 3),
        inprocess_seconds=a.inprocess_seconds or (0.05 if quick else 2.0),
        http_seconds=a.http_seconds or (1.0 if quick else 10.0),
        warmup_seconds=a.warmup_seconds if a.warmup_seconds is not None else (0.5 if quick else 2.0),
        batch_concurrency=a.batch_concurrency or 8,
        server_core=a.server_core, client_core=a.client_core, install=not a.no_install,
        setups=("pinned", "machine") if a.setup == "both" else (a.setup,),
        concurrencies=tuple(int(x) for x in a.concurrencies.split(",")) if a.concurrencies else (1, 8, 32),
        cerbos=not a.no_cerbos, cedar=not a.no_cedar, http=not a.no_http, real_bundles=not a.no_real_bundles,
        profile=a.profile, quick=quick,
        out=None if a.no_write else (a.out or (RESULTS / "quick" if quick else RESULTS)), command="python -m bench.run " + " ".join(argv or sys.argv[1:]),
    )
    return config


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    code, results = run(config)
    if config.out is not None:
        json_path, md_path = report.write(results, config.out)
        say(f"wrote {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path} and {md_path.name}")
        if code == 0 and not config.quick and config.out == RESULTS and report.update_docs(results, DOCS):
            say("updated the figures in docs/benchmarks.md")
    print(report.markdown(results, goals=False))
    report.print_ratios(results)
    return code


if __name__ == "__main__":
    sys.exit(main())
