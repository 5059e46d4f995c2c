"""Shadow evaluation: a candidate bundle answers live traffic beside the active one, off the answer path.

An admin names a candidate (``POST /v1/bundles/{name}/shadow``); the store resolves and records it
(``store.shadows``, shared with the other workers through the state folder) and this runner follows.
From then on every decision the service gives with a version of that bundle is *offered* here after
its answer is computed: one dict lookup and an append to a bounded queue. A background thread derives
the candidate's facts where its thresholds or consent bands differ, compares both bundles with
``core.compare.shadow_compare`` and keeps the tally, a bounded sample of the differences and a
bounded count of each distinct difference. What the candidate says never reaches an answer, the
cache or the decision log.

What the answer path pays: a dict lookup, a check of ``context.bundle`` and an append of (the
derived facts, the request time, the decision id) — plus the request envelope only when the
candidate derives its facts differently. Facts are a flat dict of atoms, which CPython's garbage
collector does not track, so holding them costs the answer path nothing; the thread compares in
rounds every ``POLL`` seconds (no wake-up per decision) and remembers comparisons by (active
revision, facts), so the repeated fact combinations of live traffic cost it a lookup.

Best effort by design: when the queue is full (``shadow_queue``) the comparison is dropped and
counted, never waited for; an exception while comparing is counted as an error and logged.
Requests that name a version (``context.bundle: name@version``) are not compared: they would be
decided by that version whatever is activated. Each worker process compares its own traffic: the
report of ``GET /v1/bundles/{name}/shadow`` is the answering worker's, the metric
``poortwachter_shadow_decisions_total{bundle, result}`` sums all workers.

Privacy: a sample holds the decision id (the key into the decision log), the request's time, both
verdicts (decision, deciding rules, obligations) and the derived facts the deciding rules of either
version look at. Derived facts are closed sets, booleans and numbers; facts of kind ``str`` (a custom
vocabulary's free text, which may be an id) are left out. No subject, resource or client id is kept.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..core.compare import Difference, shadow_compare
from ..core.decide import derive_facts
from ..core.policy.compile import CompiledBundle
from ..core.policy.model import leaves
from ..core.policy.values import FactValue
from ..core.request import Envelope
from . import metrics
from .cache import Key, key_of
from .store import BundleStore, Shadowing

log = logging.getLogger("poortwachter.shadow")

MAX_CHANGES = 100  # distinct differences counted per shadow; the rest are counted together
POLL = 0.05  # seconds between the comparing thread's rounds
MEMO_SIZE = 4096  # comparisons remembered per shadow (live traffic repeats its fact combinations)
ALWAYS = ("action.name", "resource.category")  # facts every rule looks at through its actions/categories
KINDS = ("decision", "rules", "obligations")

# (track, the bundle that answered, its facts, decision id, request time, envelope if facts differ)
_Item = tuple["_Track", CompiledBundle, dict[str, FactValue], str, datetime, Envelope | None]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Track:
    """One running (or finished) shadow of one bundle name in this worker: the tally and the samples."""

    def __init__(self, shadowing: Shadowing, sample_size: int) -> None:
        self.shadowing = shadowing
        self.lock = threading.Lock()
        self.same = self.different = self.dropped = self.errors = self.skipped = 0
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.changes: dict[Difference, int] = {}
        self.other_changes = 0
        self.sample: deque[dict[str, Any]] = deque(maxlen=sample_size)
        self.stopped: str | None = None
        self._shares: dict[str, bool] = {}  # active revision → the candidate derives the same facts
        self._rule_facts: dict[str, dict[str, set[str]]] = {}  # revision → rule id → facts it looks at
        self._memo: dict[Key, Difference | None] = {}  # (active revision, facts) → the comparison

    def compare(self, active: CompiledBundle, facts: dict[str, FactValue],
                envelope: Envelope | None) -> tuple[Difference | None, Mapping[str, FactValue]]:
        """The difference on one decision and the candidate's facts. ``envelope``: given when the candidate
        derives its own facts; otherwise the comparison is a pure function of (active revision, facts)
        (the decision cache's key) and is remembered."""
        if envelope is not None:
            candidate_facts = derive_facts(self.candidate, envelope)
            return shadow_compare(active, self.candidate, facts, candidate_facts), candidate_facts
        key = key_of(active.ref.revision, facts)
        try:
            return self._memo[key], facts
        except KeyError:
            pass
        diff = shadow_compare(active, self.candidate, facts)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = diff
        return diff, facts

    @property
    def name(self) -> str:
        return self.shadowing.name

    @property
    def candidate(self) -> CompiledBundle:
        return self.shadowing.candidate.compiled

    def shares_facts(self, active: CompiledBundle) -> bool:
        """Facts depend on a bundle only through its vocabulary, age thresholds and consent bands."""
        rev = active.ref.revision
        same = self._shares.get(rev)
        if same is None:
            a, c = active.bundle, self.candidate.bundle
            same = (a.vocabulary == c.vocabulary and a.thresholds == c.thresholds
                    and a.consent_by_age == c.consent_by_age)
            self._shares[rev] = same
        return same

    def _facts_of(self, bundle: CompiledBundle) -> dict[str, set[str]]:
        found = self._rule_facts.get(bundle.ref.revision)
        if found is None:
            found = {r.id: {leaf.fact for leaf in leaves(r.condition)} for r in bundle.bundle.rules}
            self._rule_facts[bundle.ref.revision] = found
        return found

    def mattered(self, active: CompiledBundle, diff: Difference, facts: Mapping[str, FactValue],
                 candidate_facts: Mapping[str, FactValue]) -> tuple[dict[str, FactValue], dict[str, FactValue]]:
        """The facts the deciding rules of either version look at (as the active version derived them),
        and those the candidate derived otherwise. Free-text facts are left out."""
        names = set(ALWAYS)
        for bundle in (active, self.candidate):
            by_rule = self._facts_of(bundle)
            for rule in (*diff.active_rules, *diff.candidate_rules):
                names |= by_rule.get(rule, set())
        vocabularies = (active.bundle.vocabulary, self.candidate.bundle.vocabulary)
        shown = sorted(n for n in names if all((s := v.fact(n)) is None or s.kind != "str" for v in vocabularies))
        before = {n: facts[n] for n in shown if n in facts}
        after = {n: candidate_facts[n] for n in shown if n in candidate_facts and candidate_facts[n] != facts.get(n)}
        return before, after

    def record(self, diff: Difference, item: _Item, candidate_facts: Mapping[str, FactValue]) -> None:
        _, active, facts, decision_id, as_of, _ = item
        before, after = self.mattered(active, diff, facts, candidate_facts)
        entry = {"at": _now(), "decision_id": decision_id, "as_of": as_of.isoformat(), **diff.as_json(),
                 "facts": before, "candidate_facts": after}
        with self.lock:
            self.different += 1
            self.by_kind[diff.kind] += 1
            if diff in self.changes or len(self.changes) < MAX_CHANGES:
                self.changes[diff] = self.changes.get(diff, 0) + 1
            else:
                self.other_changes += 1
            self.sample.append(entry)

    def report(self, running: bool) -> dict[str, Any]:
        loaded = self.shadowing.candidate
        m = loaded.manifest
        with self.lock:
            changes = sorted(self.changes.items(), key=lambda kv: -kv[1])
            return {
                "name": self.name,
                "running": running,
                "worker": os.getpid(),
                "candidate": {"version": m.version, "revision": m.revision, "effective_from": m.effective_from,
                              "file": loaded.file},
                "since": self.shadowing.since,
                "stopped": self.stopped,
                "compared": self.same + self.different,
                "same": self.same,
                "different": self.different,
                "dropped": self.dropped,
                "errors": self.errors,
                "skipped": self.skipped,
                "by_kind": dict(self.by_kind),
                "changes": [{"count": n, **d.as_json()} for d, n in changes],
                "other_changes": self.other_changes,
                "sample": list(reversed(self.sample)),
            }


class ShadowRunner:
    """Per worker process: follows ``store.shadows``, takes offers on the answer path, compares in a thread."""

    def __init__(self, store: BundleStore, capacity: int = 10_000, sample_size: int = 100) -> None:
        self.capacity = capacity
        self.sample_size = sample_size
        self.tracks: dict[str, _Track] = {}  # running, by bundle name; read (never changed) on the answer path
        self.finished: dict[str, _Track] = {}  # the last stopped shadow of each name, for its final report
        self._queue: deque[_Item] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        store.shadow_listeners.append(self.follow)
        self.follow(store.shadows)

    # ------------------------------------------------------------------------------ following the store

    def follow(self, shadows: Mapping[str, Shadowing]) -> None:
        """The store's shadow candidates changed: keep the tallies of unchanged ones, start new ones."""
        with self._lock:
            tracks: dict[str, _Track] = {}
            for name, shadowing in shadows.items():
                track = self.tracks.get(name)
                if track is None or track.shadowing.key != shadowing.key:
                    track = _Track(shadowing, self.sample_size)
                    log.info("shadow evaluation of %s: candidate %s (%s)", name,
                             shadowing.candidate.compiled.bundle.key, shadowing.candidate.revision[:19])
                tracks[name] = track
            for name, track in self.tracks.items():
                if tracks.get(name) is not track:
                    track.stopped = _now()
                    self.finished[name] = track
                    log.info("shadow evaluation of %s stopped: %d compared, %d different, %d dropped",
                             name, track.same + track.different, track.different, track.dropped)
            self.tracks = tracks  # one assignment: the answer path sees the old or the new dict
            if tracks and self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="poortwachter-shadow", daemon=True)
                self._thread.start()

    # ------------------------------------------------------------------------------ the answer path

    def offer(self, bundle: CompiledBundle, envelope: Envelope, facts: dict[str, FactValue], decision_id: str) -> None:
        """After an answer is computed: queue its comparison, or count it dropped or skipped. Never blocks."""
        track = self.tracks.get(bundle.ref.name)
        if track is None:
            return
        wanted = envelope.context.get("bundle")
        if type(wanted) is str and "@" in wanted:  # pinned to a version: activation would not change it
            with track.lock:
                track.skipped += 1
            return
        if len(self._queue) >= self.capacity:
            with track.lock:
                track.dropped += 1
            metrics.shadow_result(track.name, track.candidate.ref.version, "dropped")
            return
        own = None if track.shares_facts(bundle) else envelope
        self._queue.append((track, bundle, facts, decision_id, envelope.time, own))

    # ------------------------------------------------------------------------------ the comparing thread

    def _run(self) -> None:
        """Wakes every ``POLL`` seconds and compares what queued meanwhile: the answer path only appends
        (no wake-up call, no lock), and the threads hand the GIL over far less often. Tallies and
        metrics are added per round."""
        while not self._closed:
            self._wake.wait(POLL)
            tally: dict[tuple[_Track, str], int] = {}
            done = 0
            while self._queue and not self._closed:
                item = self._queue.popleft()
                result = self._compare(item)
                if result is not None:
                    tally[item[0], result] = tally.get((item[0], result), 0) + 1
                done += 1
                if done % 1000 == 0:  # a long round still shows progress
                    self._add(tally)
            self._add(tally)

    @staticmethod
    def _add(tally: dict[tuple[_Track, str], int]) -> None:
        for (track, result), count in tally.items():
            with track.lock:
                if result == "same":
                    track.same += count
                elif result == "error":
                    track.errors += count
            metrics.shadow_result(track.name, track.candidate.ref.version, result, count)
        tally.clear()

    def _compare(self, item: _Item) -> str | None:
        """same, different or error; None when the shadow was stopped meanwhile."""
        track, active, facts, decision_id, _, envelope = item
        if self.tracks.get(track.name) is not track:
            return None
        try:
            diff, candidate_facts = track.compare(active, facts, envelope)
            if diff is None:
                return "same"
            track.record(diff, item, candidate_facts)
            return "different"
        except Exception:  # best effort: count, log, go on
            log.exception("shadow evaluation of %s failed on decision %s", track.name, decision_id)
            return "error"

    # ------------------------------------------------------------------------------ reporting, shutdown

    def report(self, name: str) -> dict[str, Any] | None:
        """This worker's report of the running shadow of ``name``, else of the last one stopped."""
        track = self.tracks.get(name)
        if track is not None:
            return track.report(running=True)
        finished = self.finished.get(name)
        return finished.report(running=False) if finished is not None else None

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread; queued comparisons are dropped (they never mattered to an answer)."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
